"""coach: an offline, voice-guided audio coach for self-massage and mobility routines."""

import os as _os

__version__ = "0.1.0"

# numpy's OpenBLAS starts a thread per core at import, which spin for a while and cost more
# CPU than all of coach's own use of it (a few small matrix products); one is plenty. Set
# here, before any part of coach imports numpy; a value the user set is kept.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
