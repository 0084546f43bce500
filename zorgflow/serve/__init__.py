"""``zorgflow serve``: a local web page to edit workflow files in the browser.

Standard library only (``http.server``), plus Graphviz for the live diagram. The page sends
the text being edited to a small JSON API on this computer, which checks it with the normal
loader (safe YAML, no evaluation of anything but the condition language) and runs its
examples. Nothing is written to disk until the user presses Save, and then only to the file
being served.
"""

from __future__ import annotations

from .app import WorkflowServer, make_server, serve

__all__ = ["WorkflowServer", "make_server", "serve"]
