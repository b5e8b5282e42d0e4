/* Roll call page (attendance/roll_call.html). The page works without this script: every pupil is a radio group
   (present / absent / late) with a minutes field, and one button saves the whole roll. The script adds:
   - the minutes field shows only for a pupil marked late, with quick buttons (5, 10, 15 minutes) that also mark the
     pupil late;
   - the counts (present / absent / late) follow every tap, announced politely by a live region. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-roll-call]");
  if (!form) {
    return;
  }
  var counts = document.querySelector("[data-roll-counts]");
  var quick = (form.getAttribute("data-quick-minutes") || "5,10,15").split(",");
  var minutesLabel = form.getAttribute("data-minutes-label") || "minutes";

  function statusOf(pupil) {
    var checked = pupil.querySelector("input[type=radio]:checked");
    return checked ? checked.value : "present";
  }

  function plural(n, one, many) {
    return n + " " + (n > 1 ? many : one);
  }

  function updateCounts() {
    if (!counts) {
      return;
    }
    var tally = {present: 0, absent: 0, late: 0};
    form.querySelectorAll("[data-pupil]").forEach(function (pupil) {
      var status = statusOf(pupil);
      tally[status] = (tally[status] || 0) + 1;
    });
    counts.textContent = [
      plural(tally.present, counts.getAttribute("data-present-one"), counts.getAttribute("data-present-many")),
      plural(tally.absent, counts.getAttribute("data-absent-one"), counts.getAttribute("data-absent-many")),
      plural(tally.late, counts.getAttribute("data-late-one"), counts.getAttribute("data-late-many"))
    ].join(", ") + ".";
  }

  function sync(pupil) {
    var late = pupil.querySelector("[data-late]");
    if (!late) {
      return;
    }
    var isLate = statusOf(pupil) === "late";
    late.hidden = !isLate;
    pupil.classList.toggle("roll-pupil--absent", statusOf(pupil) === "absent");
    pupil.classList.toggle("roll-pupil--late", isLate);
  }

  form.querySelectorAll("[data-pupil]").forEach(function (pupil) {
    var late = pupil.querySelector("[data-late]");
    var input = late && late.querySelector("input");
    var lateRadio = pupil.querySelector("input[type=radio][value=late]");
    if (late && input && lateRadio) {
      var buttons = document.createElement("span");
      buttons.className = "roll-quick";
      quick.forEach(function (value) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button button--small";
        button.textContent = value + " min";
        button.setAttribute("aria-label", value + " " + minutesLabel);
        button.addEventListener("click", function () {
          input.value = value;
          lateRadio.checked = true;
          sync(pupil);
          updateCounts();
        });
        buttons.appendChild(button);
      });
      late.appendChild(buttons);
    }
    pupil.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        sync(pupil);
        updateCounts();
      });
    });
    sync(pupil);
  });
  updateCounts();
})();
