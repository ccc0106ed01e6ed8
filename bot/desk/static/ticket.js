// The transcript refreshes itself while the customer writes (every 0.4 s).
(function () {
  "use strict";
  var root = document.querySelector(".ticket");
  var list = document.getElementById("transcript");
  var labels = { customer: "Kunde", bot: "Bot" };
  function render(turns) {
    list.textContent = "";
    turns.forEach(function (turn) {
      var li = document.createElement("li");
      li.className = turn.from;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = turn.from === "agent" ? turn.who : labels[turn.from];
      li.appendChild(who);
      li.appendChild(document.createTextNode(turn.text));
      list.appendChild(li);
    });
    list.scrollTop = list.scrollHeight;
  }
  setInterval(function () {
    fetch("/desk/ticket/" + root.dataset.ticket + "/transcript", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(data.transcript); })
      .catch(function () {});
  }, 400);
})();
