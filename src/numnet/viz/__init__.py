"""Pictures of what numnet computes: computation graphs as Graphviz DOT (``graph``).

``numnet.viz.graph(output)`` returns the DOT text of the graph behind ``output``;
``numnet.viz.save_graph(output, "f.png")`` writes ``f.dot`` and renders ``f.png`` when
Graphviz is installed; ``record_layers(model)`` lets ``graph(..., collapse=...)`` draw one
node per layer. Nothing here imports matplotlib at import time.

Note: ``numnet.viz.graph`` is the function; the module that defines it is
``numnet.viz.graph`` in ``sys.modules`` (import from it with ``from numnet.viz.graph import``).
"""

from numnet.viz.graph import LayerRecord, graph, record_layers, save_graph

__all__ = ["LayerRecord", "graph", "record_layers", "save_graph"]
