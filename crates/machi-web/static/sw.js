// The service worker of the city's site: shows pushed notices and opens them when tapped.
"use strict";
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "お知らせ", {
    body: data.body || "",
    tag: data.tag || undefined,
    requireInteraction: Boolean(data.urgent),
    data: { url: data.url || "/notices" }
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
