// authrelay console: building the page with DOM calls only. Text from the API
// goes in as text nodes (never innerHTML), so nothing it contains is markup.
/* global document */

/** h('a', { href: '#/x', class: 'y' }, 'text', child, ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children (text as text nodes). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the contents of an element. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A state badge: <span class="state state-failed">failed</span>. */
export function badge(state, label) {
  return h('span', { class: `state state-${state}`, 'data-state': state }, label);
}

/** A table; cells are text or elements. `labels` label cells on narrow screens. */
export function table(headers, rows, attrs = {}) {
  return h('table', { class: 'list', ...attrs },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs ?? {}, r.cells.map((c, i) => h('td', { 'data-label': headers[i] }, c))))));
}

/** <dl> of [label, value] pairs; empty values are left out. */
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
