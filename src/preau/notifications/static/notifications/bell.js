// The header bell: whatever updates its count (realtime.js sets data-count and the text, "99+" above 99), keep the
// badge hidden at zero and the link's accessible label ("Notifications, 3 non lues") in step with it.
(function () {
  "use strict";
  function sync(bell) {
    var count = bell.querySelector("[data-live-count]");
    var label = bell.querySelector("[data-bell-label]");
    if (!count || !label) { return; }
    var n = parseInt(count.getAttribute("data-count") || count.textContent, 10);
    if (isNaN(n) || n < 0) { n = 0; }
    count.hidden = n === 0;
    var text = n === 0 ? label.dataset.labelZero : (n === 1 ? label.dataset.labelOne : label.dataset.labelMany);
    label.textContent = text.replace("%(n)s", String(n));
  }
  function watch(bell) {
    var count = bell.querySelector("[data-live-count]");
    if (!count || !window.MutationObserver) { return; }
    new MutationObserver(function () { sync(bell); }).observe(count, {
      attributes: true, attributeFilter: ["data-count"], childList: true, characterData: true, subtree: true
    });
  }
  document.querySelectorAll("[data-bell]").forEach(watch);
})();
