// The views' form options in the address, so that a shared link keeps them (issue 17):
//   opt.METHOD.OPTION=VALUE   an attribution method's option (params.attribution), e.g.
//                             opt.occlusion.window=8, opt.smoothgrad.samples=50
//   opt.maximize.KEY=VALUE    activation maximization (params.maximize), e.g.
//                             opt.maximize.steps=200, opt.maximize.channels=0-7, opt.maximize.fourier=1
//   opt.filters.channel=N     the filters view's input channel (params.filterChannel)
//   opt.CHECK.method=METHOD   a check's method and options (params[CHECK], the sanity
//   opt.CHECK.OPTION=VALUE    check's {method, options}), e.g. opt.sanity.init-seed=3
// One parameter per option, not one encoded blob (JSON would be percent-escaped braces):
// each reads as what it sets and can be edited in the address bar, and each is checked
// alone, so a malformed one is dropped with a note while the others are kept. Only the
// form of a value is checked here (a number, a whole number, one of the choices); its
// range is the core's to refuse, with the CLI's words, as for a value typed in the form.
import { FIELDS as MAXIMIZE_FIELDS, parseUnits } from "./views/maximize.js";

const PREFIX = "opt.";

/**
 * The options of `params` as [key, value] pairs for the address, in a stable order;
 * `checks` are the catalogue's checks (their names are keys of `params`).
 */
export function formatOptions(params, checks = []) {
  const pairs = [];
  for (const [method, options] of Object.entries(params.attribution ?? {})) {
    for (const [name, value] of Object.entries(options ?? {})) if (value !== undefined) pairs.push([`${PREFIX}${method}.${name}`, String(value)]);
  }
  for (const [key, value] of Object.entries(params.maximize ?? {})) {
    if (value === undefined) continue;
    pairs.push([`${PREFIX}maximize.${key}`, typeof value === "boolean" ? (value ? "1" : "0") : String(value)]);
  }
  if (params.filterChannel !== undefined) pairs.push([`${PREFIX}filters.channel`, String(params.filterChannel)]);
  for (const { name: check } of checks) {
    const { method, options = {} } = params[check] ?? {};
    if (method !== undefined) pairs.push([`${PREFIX}${check}.method`, method]);
    for (const [name, value] of Object.entries(options)) if (value !== undefined) pairs.push([`${PREFIX}${check}.${name}`, String(value)]);
  }
  return pairs;
}

/**
 * The options of a query string, checked against the method catalogue's options and the
 * maximization form's fields: `{values: {attribution?, maximize?, filterChannel?},
 * notes: [text]}`, a note for each value dropped (what was asked, why, what is used).
 */
export function readOptions(search, catalogue) {
  const values = {};
  const notes = [];
  const methods = new Map((catalogue?.methods ?? []).map((m) => [m.name, m]));
  const checks = new Map((catalogue?.checks ?? []).map((c) => [c.name, c]));
  for (const [key, text] of new URLSearchParams(search)) {
    if (!key.startsWith(PREFIX)) continue;
    const [owner, ...rest] = key.slice(PREFIX.length).split(".");
    const name = rest.join(".");
    const drop = (why) => notes.push(`The link's ${key}=${text} was not used: ${why}.`);
    if (owner === "filters" && name === "channel") {
      const n = wholeNumber(text, 0);
      if (n === undefined) drop("the input channel is a whole number (0, 1, 2…); showing the layer's default");
      else values.filterChannel = n;
    } else if (owner === "maximize") {
      const result = maximizeValue(name, text);
      if ("why" in result) drop(result.why);
      else (values.maximize ??= {})[name] = result.value;
    } else if (checks.has(owner)) {
      const check = checks.get(owner);
      const asked = (values[owner] ??= {});
      const option = check.options.find((o) => o.name === name);
      const value = option ? optionValue(option, text) : undefined;
      if (name === "method" && methods.has(text)) asked.method = text;
      else if (name === "method") drop(`there is no method "${text}" (${[...methods.keys()].join(", ")}); using Grad-CAM`);
      else if (!option) drop(`${check.title} has no option "${name}" (it has method, ${check.options.map((o) => o.name).join(", ")})`);
      else if (value === undefined) drop(`${name} ${expected(option)}; using its default, ${option.defaultText}`);
      else (asked.options ??= {})[name] = value;
      if (!Object.keys(asked).length) delete values[owner];
    } else if (methods.has(owner)) {
      const method = methods.get(owner);
      const option = method.options.find((o) => o.name === name);
      const value = option ? optionValue(option, text) : undefined;
      if (!option) drop(`${method.title} has no option "${name}"${method.options.length ? ` (it has ${method.options.map((o) => o.name).join(", ")})` : ""}`);
      else if (value === undefined) drop(`${name} ${expected(option)}; using its default, ${option.defaultText}`);
      else ((values.attribution ??= {})[owner] ??= {})[name] = value;
    } else {
      drop(`this page has no method or view "${owner}" with options`);
    }
  }
  return { values, notes };
}

function wholeNumber(text, min) {
  const n = Number(text);
  return text.trim() !== "" && Number.isInteger(n) && n >= min ? n : undefined;
}

/** A catalogue option's value from its text, or undefined when malformed. */
function optionValue(option, text) {
  if (option.type === "choice") return option.choices.includes(text) ? text : undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) return undefined;
  return option.type === "integer" && !Number.isInteger(n) ? undefined : n;
}

function expected(option) {
  if (option.type === "choice") return `is one of ${option.choices.join(", ")}`;
  return option.type === "integer" ? "takes a whole number" : "takes a number";
}

/** {value} for a maximization field's text, or {why} it was refused. */
function maximizeValue(key, text) {
  if (key === "fourier") return text === "1" || text === "0" ? { value: text === "1" } : { why: "fourier is 1 or 0; using the model's default" };
  if (key === "channels") {
    try {
      parseUnits(text);
      return { value: text };
    } catch (err) {
      return { why: `${err.message}; using channel 0` };
    }
  }
  const field = MAXIMIZE_FIELDS.find((f) => f.key === key);
  if (!field) return { why: `activation maximization has no option "${key}" (it has ${[...MAXIMIZE_FIELDS.map((f) => f.key), "fourier", "channels"].join(", ")})` };
  // The form's own limits (it checks them before a run): min, max, whole steps.
  const n = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(n) && n >= field.min && (field.max === undefined || n <= field.max) && (field.step !== 1 || Number.isInteger(n));
  if (!ok) return { why: `${field.label} takes ${field.step === 1 ? "a whole number" : "a number"} from ${field.min}${field.max === undefined ? "" : ` to ${field.max}`}; using the model's default` };
  return { value: n };
}
