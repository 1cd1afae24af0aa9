"""Coach's own words: the cues it speaks itself, in each language it speaks, in one place for
the checker and the compiler.

Counts and countdowns are written as digits: every voice reads a digit in its own language,
so "3" is "three" in English and "drei" in German, whatever the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGLISH = "en"


@dataclass(frozen=True)
class Where:
    """What coach answers, in one language, when asked where the listener is: `step` and
    `before` take {number} and {total} (steps) and {name}, `rep` {number} and {total} (reps),
    `elapsed` {clock} (m:ss) and {minute} (the minute under way: 1 in the first)."""

    step: str
    before: str
    finishing: str
    rep: str
    elapsed: str


@dataclass(frozen=True)
class Words:
    """What coach says itself in one language (`code`, as `language:` names it)."""

    code: str
    name: str  # the language's name in English, for messages
    halfway: str
    hold: str
    # Whole words: a bare "In." is never heard as such with eyes closed, over a metronome
    # (the listening review of ROUTINES.md).
    breathe_in: str
    breathe_out: str
    last_breath_in: str
    lead_in: str  # the --lead-in invitation; {seconds} is the whole seconds until the start
    get_ready: str  # the shorter invitation of a short lead-in
    check_ins: tuple[str, ...]  # coach's own check-ins, for a routine without `check-in:`
    where: Where  # the answer to the "where" command (coach.status.where_text)
    introduction: str  # the name of what comes before the first step: a file's first chapter

    def breath_words(self, count: int) -> list[str]:
        """The distinct cues of `count` breaths, as the compiler speaks them."""
        spoken = [self.breathe_in, self.breathe_out] if count else []
        return spoken + ([self.last_breath_in] if count > 2 else [])


# Written for listeners with closed eyes: short, calm, second person. The German speaks to
# the listener as "du", as German fitness and yoga coaching does; French and Spanish take the
# forms their own coaching uses ("vous"; "tú").
LANGUAGES: dict[str, Words] = {
    w.code: w
    for w in (
        Words(
            ENGLISH,
            "English",
            halfway="Halfway.",
            hold="Hold.",
            breathe_in="Breathe in.",
            breathe_out="Breathe out.",
            last_breath_in="Last one. Breathe in.",
            lead_in="Get into position. We start in {seconds} seconds.",
            get_ready="Get ready.",
            check_ins=(
                "If anything hurts, ease off or stop.",
                "Check in with your body. Keep the pressure comfortable, never sharp.",
                "Keep breathing slowly. If you feel pain or dizziness, stop and rest.",
            ),
            introduction="Introduction",
            where=Where(
                step="Step {number} of {total}, {name}.",
                before="Step {number} of {total}, {name}, comes next.",
                finishing="The last steps are done.",
                rep="Rep {number} of {total}.",
                elapsed="{clock} in.",
            ),
        ),
        Words(
            "de",
            "German",
            halfway="Die Hälfte ist geschafft.",
            hold="Halten.",
            breathe_in="Einatmen.",
            breathe_out="Ausatmen.",
            last_breath_in="Ein letztes Mal. Einatmen.",
            lead_in="Geh in Position. Wir beginnen in {seconds} Sekunden.",
            get_ready="Mach dich bereit.",
            check_ins=(
                "Wenn etwas wehtut, lass locker oder hör auf.",
                "Spür in deinen Körper. Der Druck bleibt angenehm, nie stechend.",
                "Atme ruhig weiter. Bei Schmerz oder Schwindel hör auf und ruh dich aus.",
            ),
            # A voice reads "1:23" as a time of day in German, French and Spanish: the
            # minute under way says it in words.
            introduction="Einleitung",
            where=Where(
                step="Schritt {number} von {total}: {name}.",
                before="Gleich kommt Schritt {number} von {total}: {name}.",
                finishing="Die letzten Schritte sind geschafft.",
                rep="Wiederholung {number} von {total}.",
                elapsed="Wir sind in Minute {minute}.",
            ),
        ),
        Words(
            "fr",
            "French",
            halfway="Vous êtes à la moitié.",
            hold="Tenez.",
            breathe_in="Inspirez.",
            breathe_out="Expirez.",
            last_breath_in="Une dernière fois. Inspirez.",
            lead_in="Mettez-vous en place. Nous commençons dans {seconds} secondes.",
            get_ready="Préparez-vous.",
            check_ins=(
                "Si quelque chose fait mal, relâchez ou arrêtez.",
                "Écoutez votre corps. La pression reste agréable, jamais vive.",
                "Respirez lentement. En cas de douleur ou de vertige, arrêtez et reposez-vous.",
            ),
            introduction="Introduction",
            where=Where(
                step="Étape {number} sur {total} : {name}.",
                before="Bientôt l'étape {number} sur {total} : {name}.",
                finishing="Les dernières étapes sont faites.",
                rep="Répétition {number} sur {total}.",
                elapsed="Nous sommes à la minute {minute}.",
            ),
        ),
        Words(
            "es",
            "Spanish",
            halfway="Ya vas por la mitad.",
            hold="Mantén.",
            breathe_in="Inhala.",
            breathe_out="Exhala.",
            last_breath_in="La última. Inhala.",
            lead_in="Colócate en posición. Empezamos en {seconds} segundos.",
            get_ready="Prepárate.",
            check_ins=(
                "Si algo duele, afloja o para.",
                "Escucha a tu cuerpo. La presión debe ser agradable, nunca aguda.",
                "Sigue respirando despacio. Si notas dolor o mareo, para y descansa.",
            ),
            introduction="Introducción",
            where=Where(
                step="Paso {number} de {total}: {name}.",
                before="Enseguida viene el paso {number} de {total}: {name}.",
                finishing="Ya están hechos los últimos pasos.",
                rep="Repetición {number} de {total}.",
                elapsed="Vamos por el minuto {minute}.",
            ),
        ),
    )
}

#: English: the language of a routine without `language:`.
DEFAULT = LANGUAGES[ENGLISH]
# The module's English words under their old names, for the code and tests that use them.
HALFWAY = DEFAULT.halfway
HOLD = DEFAULT.hold
BREATHE_IN = DEFAULT.breathe_in
BREATHE_OUT = DEFAULT.breathe_out
LAST_BREATH_IN = DEFAULT.last_breath_in


def language_code(written: str) -> str | None:
    """The code of the language `language:` names ("" is English; case and a region such as
    "de-AT" do not matter), or None when coach does not speak it."""
    code = written.strip().lower().replace("_", "-").split("-")[0] or ENGLISH
    return code if code in LANGUAGES else None


def spoken_in(written: str) -> str:
    """The code of the language a routine is spoken in, from its `language:` as written:
    English when it names none, or one coach does not speak (the checker refuses that)."""
    return language_code(written) or ENGLISH


def words_for(code: str) -> Words:
    """Coach's words in the language `code` (English when coach does not speak it: the
    checker has refused such a routine already)."""
    return LANGUAGES.get(code, DEFAULT)


def breath_words(count: int) -> list[str]:
    """The distinct English cues of `count` breaths, as the compiler speaks them."""
    return DEFAULT.breath_words(count)
