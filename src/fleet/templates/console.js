// Progressive enhancement only: the pages work without it. The fleet table filters as you
// type in the search box, without a round trip; a notice can be moved to the top of the
// catalogue form (the form is read in page order).
document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("button.move-first")) {
    b.addEventListener("click", () => {
      const f = b.closest("fieldset");
      f.parentNode.insertBefore(f, f.parentNode.querySelector("fieldset.notice"));
    });
  }
  const q = document.getElementById("f-q");
  const rows = Array.from(document.querySelectorAll("#fleet tbody tr[data-text]"));
  if (!q || rows.length === 0) return;
  const filter = () => {
    const words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const r of rows) {
      const text = r.dataset.text.toLowerCase();
      const hit = words.every((w) => text.includes(w));
      r.classList.toggle("hidden", !hit);
      if (hit) shown++;
    }
    document.body.dataset.shown = String(shown);
    // The bulk form sends the words and the count it was shown, so the server picks the same rows.
    const bq = document.getElementById("bulk-q");
    if (bq) {
      bq.value = q.value;
      document.getElementById("bulk-expected").value = String(shown);
      const label = document.getElementById("bulk-label");
      label.textContent = label.dataset.template.replace("{n}", String(shown));
    }
  };
  q.addEventListener("input", filter);
  filter();
});
