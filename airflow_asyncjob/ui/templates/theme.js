// Follow the Airflow UI's colour mode (its <html class="dark">, same origin) and its font; the
// system's preference when the page is opened on its own.
(function () {
  const root = document.documentElement;
  function apply() {
    let dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    try {
      if (window.parent !== window) dark = window.parent.document.documentElement.classList.contains("dark");
    } catch (e) { /* another origin: keep the system's preference */ }
    root.classList.toggle("dark", dark);
  }
  apply();
  try {
    if (window.parent !== window) {
      new MutationObserver(apply).observe(window.parent.document.documentElement, { attributes: true });
    }
  } catch (e) { /* another origin */ }
})();
window.NS = {
  esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  },
  badge(status) {
    return status ? `<span class="badge s-${NS.esc(status)}" data-status="${NS.esc(status)}">${NS.esc(status)}</span>` : "<span class=muted>unknown</span>";
  },
  bar(percent) {
    const p = typeof percent === "number" ? Math.max(0, Math.min(100, percent)) : null;
    if (p === null) return "<span class=muted>no percent yet</span>";
    return `<div class="bar" role="progressbar" aria-valuenow="${p}" aria-valuemin="0" aria-valuemax="100"><span style="width:${p}%"></span></div><span class="percent">${p.toFixed(1)}%</span>`;
  },
  ago(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    return `${(seconds / 3600).toFixed(1)} h ago`;
  },
  when(iso) { return iso ? new Date(iso).toLocaleString() : "—"; },
  async refresh(url, render, seconds) {
    // Fetch the JSON again every `seconds` while the page is visible; no full reload.
    async function tick() {
      if (!document.hidden) {
        try {
          const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
          const data = await response.json();
          if (data && data.detail !== undefined && !data.task) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
          render(data);
        } catch (error) {
          const note = document.getElementById("refresh-error");
          if (note) note.textContent = `Could not refresh: ${error.message || error}. Showing the last data.`;
        }
      }
      if (seconds > 0 && window.NS_KEEP_REFRESHING(document)) setTimeout(tick, seconds * 1000);
    }
    if (seconds > 0) setTimeout(tick, seconds * 1000);
  },
};
window.NS_KEEP_REFRESHING = () => true;
