// Console "API keys": the copy button beside a newly issued key (the CSP allows no inline script).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const note = button.parentElement.querySelector("[data-copied]");
    if (note) note.hidden = false;
  });
});
