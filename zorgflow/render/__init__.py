"""Pictures and documents generated from a workflow: diagrams (Mermaid, DOT, SVG, PNG) and a
process document (HTML, Markdown).

Nothing here is imported by ``import zorgflow``; Graphviz and Jinja2 are imported only when
a picture or document is actually made (``pip install "zorgflow[diagram]"``).
"""
