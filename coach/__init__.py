"""coach: an offline, voice-guided audio coach for self-massage and mobility routines."""

__version__ = "0.1.0"
