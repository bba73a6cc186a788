// The lineage graph: Cytoscape.js, laid out in layers from left (sources) to right.
// A click on a node opens its run; window.consistLineage records how long the layout
// took, so the browser tests can check that a large graph does not freeze the page.
(function () {
  // A layered (Sugiyama-like) layout in linear time: each node's layer is its longest
  // path from a source (so every edge points right), then one barycentre pass orders
  // each layer by its parents' rows. Cytoscape's breadthfirst with maximal=true does
  // the same job but took seconds on 500 nodes.
  function layered(cy) {
    const layer = {}, waiting = {}, ready = [];
    cy.nodes().forEach(n => {
      layer[n.id()] = 0;
      waiting[n.id()] = n.incomers("edge").length;
      if (waiting[n.id()] === 0) ready.push(n);
    });
    for (let i = 0; i < ready.length; i++) {
      const n = ready[i];
      n.outgoers("node").forEach(m => {
        layer[m.id()] = Math.max(layer[m.id()], layer[n.id()] + 1);
        if (--waiting[m.id()] === 0) ready.push(m);
      });
    }
    const layers = [];
    cy.nodes().forEach(n => { (layers[layer[n.id()]] = layers[layer[n.id()]] || []).push(n); });
    const row = {}, positions = {};
    layers.forEach((nodes, x) => {
      const key = n => {
        const rows = n.incomers("node").map(p => row[p.id()]).filter(r => r !== undefined);
        return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
      };
      nodes.map(n => [key(n), n]).sort((a, b) => a[0] - b[0]).forEach(([, n], i) => {
        row[n.id()] = i;
        positions[n.id()] = { x: x * 140, y: (i - (nodes.length - 1) / 2) * 56 };
      });
    });
    return positions;
  }

  const container = document.getElementById("graph");
  const elements = JSON.parse(document.getElementById("elements").textContent);
  const started = performance.now();
  const cy = cytoscape({
    container: container,
    elements: elements,
    layout: { name: "null" },
    wheelSensitivity: 0.3,
    minZoom: 0.05,
    maxZoom: 4,
    style: [
      { selector: "node", style: {
          "label": "data(label)", "font-size": 11, "text-valign": "bottom",
          "text-margin-y": 4, "color": "#222", "text-max-width": 140, "text-wrap": "ellipsis" } },
      { selector: "node[kind = 'run']", style: {
          "shape": "round-rectangle", "width": 26, "height": 18, "background-color": "#2b6cb0" } },
      { selector: "node[kind = 'run'][?hit]", style: { "background-color": "#2f855a" } },
      { selector: "node[status = 'failed']", style: { "background-color": "#c53030" } },
      { selector: "node[status = 'running']", style: { "background-color": "#b7791f" } },
      { selector: "node[kind = 'artifact']", style: {
          "shape": "ellipse", "width": 14, "height": 14, "background-color": "#a0aec0" } },
      { selector: "node[?root]", style: { "border-width": 3, "border-color": "#1a202c" } },
      { selector: "edge", style: {
          "width": 1.2, "line-color": "#cbd5e0", "target-arrow-color": "#a0aec0",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
    ],
  });
  cy.layout({ name: "preset", positions: layered(cy), fit: true, padding: 20 }).run();
  window.consistLineage = {
    cy: cy,
    nodes: cy.nodes().length,
    layoutMs: performance.now() - started,
  };
  container.dataset.ready = "true";
  cy.on("tap", "node", function (event) {
    const href = event.target.data("href");
    if (href && href !== "#") window.location.href = href;
  });
  cy.on("mouseover", "node", function (event) {
    const d = event.target.data();
    container.title = d.kind === "run"
      ? d.label + " (" + d.model + ", " + d.status + (d.hit ? ", cache hit" : "") + ")"
      : d.label + "  " + d.uri;
  });
  document.getElementById("fit").addEventListener("click", function (event) {
    event.preventDefault();
    cy.fit(undefined, 20);
  });
})();
