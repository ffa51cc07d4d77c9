// Browser notifications for the subscribe page. The page works without this script (e-mail
// and webhooks); with it (and push.js before it), a browser that can take push messages shows
// one more button.
(function () {
  "use strict";
  var section = document.getElementById("push-section");
  var button = document.getElementById("push-button");
  var status = document.getElementById("push-status");
  var form = document.getElementById("subscribe-form");
  if (!section || !window.machiPush || !window.machiPush.supported) return;
  section.hidden = false;
  var en = document.documentElement.lang === "en";
  function say(ja, english) { status.textContent = en ? english : ja; }

  function choices() {
    var categories = Array.prototype.map.call(
      form.querySelectorAll("input[name=category]:checked"), function (c) { return c.value; });
    // Areas are ticked in the city's 町字 list, or typed where the city has none.
    var ticked = Array.prototype.map.call(
      form.querySelectorAll("input[name=area]:checked"), function (a) { return a.value; });
    var typed = form.querySelector("input[name=areas]");
    if (typed && typed.value) ticked.push(typed.value);
    return { categories: categories, areas: ticked.join("、") };
  }

  button.addEventListener("click", async function () {
    var chosen = choices();
    if (chosen.categories.length === 0) {
      say("受け取る分類を1つ以上選んでください。", "Choose at least one category.");
      return;
    }
    try {
      say("登録しています…", "Subscribing…");
      var body = await window.machiPush.subscribe();
      body.categories = chosen.categories;
      body.areas = chosen.areas;
      body.language = en ? "en" : "ja";
      var response = await fetch("/api/v1/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body)
      });
      var answer = await response.json();
      if (!response.ok) {
        say("登録できませんでした: " + (answer.detail || response.status),
            "Could not subscribe: " + (answer.detail || response.status));
        return;
      }
      // The status is itself a <p>: the text and link go straight in (a <p> in a <p> is
      // not valid HTML).
      say("ブラウザ通知を登録しました。", "Browser notifications are on. ");
      var link = document.createElement("a");
      link.href = answer.manage_url;
      link.textContent = en ? "Change or stop them" : "設定の変更・停止";
      status.appendChild(link);
    } catch (error) {
      say("このブラウザでは通知を登録できませんでした（" + error.message + "）。",
          "This browser could not subscribe (" + error.message + ").");
    }
  });
})();
