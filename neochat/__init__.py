__version__ = "0.1.0"
# transformers 5 imports the `kernels` hub package, which says at import, offline, that it skips the trust checks of
# attention kernels neochat never loads: three lines on stderr before every command. Quiet it before anything imports it.
import logging as _logging
_logging.getLogger("kernels").setLevel(_logging.ERROR)
