// The coding page: turn a text selection (or the focused unit) into character offsets, and let
// the number keys apply codes. The server holds the text; offsets come from each piece's data-o.
(function () {
  "use strict";
  var target = null;

  function offsetOf(node, offset) {
    var element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    var piece = element && element.closest("[data-o]");
    if (piece) {
      return Number(piece.dataset.o) + (node.nodeType === Node.TEXT_NODE ? offset : 0);
    }
    var unit = element && element.closest(".unit");
    return unit ? Number(unit.dataset.start) : null;
  }

  function fromSelection() {
    var box = document.getElementById("transcript-text");
    var selection = window.getSelection();
    if (!box || !selection || selection.isCollapsed) return null;
    if (!box.contains(selection.anchorNode) || !box.contains(selection.focusNode)) return null;
    var a = offsetOf(selection.anchorNode, selection.anchorOffset);
    var b = offsetOf(selection.focusNode, selection.focusOffset);
    if (a === null || b === null || a === b) return null;
    return { start: Math.min(a, b), end: Math.max(a, b), text: selection.toString(), unit: null };
  }

  function fromUnit(unit) {
    return {
      start: Number(unit.dataset.start),
      end: Number(unit.dataset.end),
      text: unit.querySelector(".unit-text").textContent,
      unit: unit.id,
    };
  }

  function show(next) {
    target = next;
    var start = document.getElementById("selection-start");
    var end = document.getElementById("selection-end");
    var label = document.getElementById("selection");
    if (!start || !end || !label) return;
    start.value = next ? next.start : "";
    end.value = next ? next.end : "";
    if (next) {
      var words = next.text.trim().replace(/\s+/g, " ");
      label.textContent = "To code: “" + (words.length > 120 ? words.slice(0, 117) + "…" : words) + "”";
    }
  }

  document.addEventListener("selectionchange", function () {
    var picked = fromSelection();
    if (picked) show(picked);
  });

  document.addEventListener("focusin", function (event) {
    var unit = event.target.closest && event.target.closest(".unit");
    if (unit && event.target === unit && !fromSelection()) show(fromUnit(unit));
  });

  document.addEventListener("keydown", function (event) {
    var tag = event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var unit = event.target.closest && event.target.closest(".unit");
    if (unit && (event.key === "j" || event.key === "k")) {
      var units = Array.prototype.slice.call(document.querySelectorAll(".unit"));
      var next = units[units.indexOf(unit) + (event.key === "j" ? 1 : -1)];
      if (next) next.focus();
      event.preventDefault();
      return;
    }
    var button = document.querySelector('#apply-form button[data-key="' + event.key + '"]');
    if (button && target) {
      event.preventDefault();
      button.click();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function () {
    var unit = target && target.unit ? document.getElementById(target.unit) : null;
    window.getSelection().removeAllRanges();
    target = null;
    if (unit) unit.focus();
  });
})();
