// Swagger UI for /api/v1, started here rather than inline (the CSP allows no inline script).
// Authorize takes an API token (from /tokens) and keeps it while the page is reloaded.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
                                persistAuthorization: true });
});
