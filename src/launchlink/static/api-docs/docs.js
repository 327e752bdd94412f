// launchlink API docs: renders /api/v1/openapi.json as a list of operations.
// Written for launchlink (MIT, like the rest of the code); no library, nothing fetched
// from another host, and every value from the document goes in as text, never as HTML.
"use strict";

const SPEC_URL = "/api/v1/openapi.json";
const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function resolve(spec, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen < 20) {
    const path = schema.$ref.replace(/^#\//, "").split("/");
    schema = path.reduce((node, key) => (node ? node[key] : undefined), spec);
    seen += 1;
  }
  return schema || {};
}

function typeOf(spec, schema, depth = 0) {
  schema = resolve(spec, schema);
  if (depth > 3) return "…";
  if (schema.anyOf || schema.oneOf) {
    return (schema.anyOf || schema.oneOf).map((s) => typeOf(spec, s, depth + 1)).join(" | ");
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.type === "array") return `${typeOf(spec, schema.items || {}, depth + 1)}[]`;
  if (schema.type === "object" && schema.additionalProperties) {
    return `{string: ${typeOf(spec, schema.additionalProperties, depth + 1)}}`;
  }
  if (schema.title && !schema.type) return schema.title;
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || schema.title || "any";
}

function fieldsTable(spec, schema) {
  schema = resolve(spec, schema);
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const names = Object.keys(properties);
  if (!names.length) return el("p", { class: "muted" }, typeOf(spec, schema));
  const rows = names.map((name) => {
    const property = resolve(spec, properties[name]);
    return el(
      "tr",
      {},
      el("td", {}, el("code", {}, name), required.has(name) ? " *" : ""),
      el("td", {}, el("code", {}, typeOf(spec, properties[name]))),
      el("td", {}, property.description || properties[name].description || ""),
    );
  });
  return el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "")), ...rows);
}

function operationView(spec, path, method, operation) {
  const secured = (operation.security || spec.security || []).length > 0;
  const summary = el(
    "summary",
    {},
    el("span", { class: `method ${method}` }, method.toUpperCase()),
    el("span", { class: "path" }, path),
    el("span", { class: "summary" }, operation.summary || ""),
    secured ? el("span", { class: "lock", title: "needs an API key" }, "API key") : null,
  );
  const body = el("div", { class: "body" });
  if (operation.description) body.append(el("p", {}, operation.description));
  const parameters = operation.parameters || [];
  if (parameters.length) {
    body.append(
      el("h3", {}, "Parameters"),
      el(
        "table",
        {},
        el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type")),
        ...parameters.map((parameter) =>
          el(
            "tr",
            {},
            el("td", {}, el("code", {}, parameter.name), parameter.required ? " *" : ""),
            el("td", {}, parameter.in),
            el("td", {}, el("code", {}, typeOf(spec, parameter.schema || {}))),
          ),
        ),
      ),
    );
  }
  const content = operation.requestBody && operation.requestBody.content;
  if (content) {
    const [mediaType, media] = Object.entries(content)[0];
    body.append(el("h3", {}, `Request body (${mediaType})`), fieldsTable(spec, media.schema || {}));
  }
  const responses = Object.entries(operation.responses || {});
  if (responses.length) {
    body.append(
      el("h3", {}, "Responses"),
      el(
        "table",
        {},
        ...responses.map(([status, response]) =>
          el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, response.description || "")),
        ),
      ),
    );
  }
  return el("details", { class: "operation", id: operation.operationId || `${method}-${path}` }, summary, body);
}

function render(spec) {
  document.getElementById("title").textContent = spec.info.title;
  document.getElementById("description").textContent = spec.info.description || "";
  const schemes = (spec.components && spec.components.securitySchemes) || {};
  const bearer = Object.values(schemes).find((s) => s.scheme === "bearer");
  if (bearer) document.getElementById("auth").textContent = bearer.description || "";
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = (operation.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(spec, path, method, operation));
    }
  }
  const main = document.getElementById("operations");
  main.replaceChildren();
  for (const [tag, views] of byTag) main.append(el("h2", {}, tag), ...views);
}

fetch(SPEC_URL, { headers: { accept: "application/json" } })
  .then((response) => {
    if (!response.ok) throw new Error(`${SPEC_URL} answered ${response.status}`);
    return response.json();
  })
  .then(render)
  .catch((error) => {
    document.getElementById("operations").replaceChildren(el("p", { class: "error" }, String(error)));
  });
