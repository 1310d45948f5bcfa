// Small pieces the roles' Home Assistant entities are built from (RoleSpec.homeassistant).
// Home Assistant publishes bare values ("0.4", "ON", "PRESS", an option) on an entity's command
// topic and cannot add the {v, id} request envelope, so an entity whose command topic is
// `<base>/<id>/cmd/ha/<key>` (HaContext.haCommandTopic) says in `command` which hearth commands a
// payload runs; the runtime validates and runs them like any other request.

/** Component ids: letters, digits and "_" only. */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'x';
}

/** Home Assistant's switch payloads; anything else is a readable refusal. */
export function onOff(payload: string): boolean | string {
  return payload === 'ON' ? true : payload === 'OFF' ? false : `expected ON or OFF, got ${JSON.stringify(payload.slice(0, 20))}`;
}

/** A value template reading the state envelope's `detail.<path>`, "unknown" (fallback) while the role is not running. */
export function detailTemplate(path: string, fallback = 'None'): string {
  return `{{ value_json.detail.${path} if value_json.detail is defined and value_json.detail.${path} is defined and value_json.detail.${path} is not none else ${fallback} }}`;
}

/** A value template: 'ON' when the detail's list `list` has an item whose `key` is `value` and `test` (a Jinja expression on `s[0]`) holds. */
export function listItemOnTemplate(list: string, key: string, value: string, test: string): string {
  return `{% set s = (value_json.detail.${list} if value_json.detail is defined else []) | selectattr('${key}', 'eq', ${JSON.stringify(value)}) | list %}{{ 'ON' if s and ${test} else 'OFF' }}`;
}
