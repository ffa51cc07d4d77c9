// The service worker of the city's site: shows pushed notices and opens them when tapped.
"use strict";
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "お知らせ", {
    body: data.body || "",
    tag: data.tag || undefined,
    requireInteraction: Boolean(data.urgent),
    actions: data.manage_url ? [{ action: "manage", title: "配信の設定・停止" }] : [],
    data: { url: data.url || "/notices", manage: data.manage_url }
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var data = event.notification.data;
  var target = event.action === "manage" && data.manage ? data.manage : data.url;
  event.waitUntil(self.clients.openWindow(target));
});
