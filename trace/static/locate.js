// "Use my location" under a location field (input[data-locate]): the phone's position, written in as
// "latitude, longitude". Without script, or without a position sensor, no button appears and the field is typed.
"use strict";
document.querySelectorAll("input[data-locate]").forEach(function (input) {
  if (!navigator.geolocation) {
    return;
  }
  var button = document.createElement("button");
  var status = document.createElement("p");
  button.type = "button";
  button.className = "secondary";
  button.textContent = input.dataset.locate;
  status.className = "muted";
  status.setAttribute("role", "status");
  button.addEventListener("click", function () {
    status.textContent = input.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      input.value = position.coords.latitude.toFixed(6) + ", " + position.coords.longitude.toFixed(6);
      status.textContent = input.dataset.located.replace("{m}", Math.round(position.coords.accuracy));
    }, function () {
      status.textContent = input.dataset.refused;
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  });
  input.after(button, status);
});
