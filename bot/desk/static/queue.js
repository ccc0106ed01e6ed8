// The queue updates itself from server-sent events.
(function () {
  "use strict";
  var body = document.querySelector("#queue tbody");
  var source = new EventSource("/desk/events");
  source.addEventListener("queue", function (event) {
    var rows = JSON.parse(event.data);
    body.textContent = "";
    if (!rows.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      empty.innerHTML = '<td colspan="7">Ingen venter.</td>';
      body.appendChild(empty);
      return;
    }
    rows.forEach(function (t) {
      var tr = document.createElement("tr");
      tr.dataset.id = t.id;
      tr.className = "p" + t.priority;
      var link = document.createElement("a");
      link.href = "/desk/ticket/" + t.id;
      link.textContent = t.id;
      var cells = [link, t.priority, t.reason_label, t.channel, t.language, t.waiting_min + " min", t.status];
      cells.forEach(function (value) {
        var td = document.createElement("td");
        if (value instanceof Node) td.appendChild(value); else td.textContent = value;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  });
})();
