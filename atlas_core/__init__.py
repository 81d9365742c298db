"""Atlas Bulk Ops core: everything but the Streamlit pages. Never imports streamlit."""

from .config import Settings
from .errors import AtlasError

__all__ = ["AtlasError", "Settings"]
