"""session: one client's state (settings, transaction, prepared statements, portals) over a Database."""

from sqlvec.session.database import Database, Registries
from sqlvec.session.session import Portal, PreparedStatement, Session

__all__ = ["Database", "Registries", "Session", "PreparedStatement", "Portal"]
