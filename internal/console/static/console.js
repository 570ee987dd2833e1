// vmcp console: copy buttons and the audit live tail. No framework, no build step.
"use strict";

function copyText(text, button) {
  const done = () => { const old = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = old; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
}

// fallbackCopy serves plain-http consoles, where the async clipboard API is unavailable.
function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); done(); } finally { area.remove(); }
}

document.addEventListener("click", (e) => {
  const b = e.target.closest("button.copy");
  if (!b) return;
  const from = b.dataset.copyFrom;
  copyText(from ? document.getElementById(from).textContent : b.dataset.copy, b);
});

// The live tail polls the rows of the current filter and swaps them in; polling (not SSE)
// passes every proxy and holds nothing open per tab.
function startTail() {
  const table = document.querySelector("table[data-tail]");
  const live = document.getElementById("live");
  if (!table || !live) return;
  const body = table.querySelector("tbody");
  const tick = async () => {
    if (live.checked && !document.hidden) {
      try {
        const resp = await fetch(table.dataset.tail, { credentials: "same-origin", headers: { "Accept": "text/html" } });
        if (resp.ok) body.innerHTML = await resp.text();
        table.dataset.refreshed = String(Date.now());
      } catch (_) { /* the next tick tries again */ }
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}
document.addEventListener("DOMContentLoaded", startTail);
