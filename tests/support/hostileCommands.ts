/**
 * The commands issue 10 found passing a presence-only `validate` and then
 * poisoning the read model, each with the code and the words the API must
 * answer with (400, nothing written). Shared by the handler's and the local
 * API's hostile-input tests.
 */
export interface HostileCommand {
  name: string;
  /** The raw body (a string, so duplicate keys and 1e400 survive). */
  body: string;
  code: string;
  /** What the message must say: the field's path and the problem. */
  message: RegExp;
}

const line = (unitPriceCents: string) => `{"type":"LineAdded","data":{"sku":"A","quantity":1,"unitPriceCents":${unitPriceCents}}}`;

export const HOSTILE_COMMANDS: HostileCommand[] = [
  {
    name: "lines not an array",
    body: '{"type":"OrderPlaced","data":{"customerId":"c","lines":"nope"}}',
    code: "InvalidEvent",
    message: /OrderPlaced data\.lines: .*Array/,
  },
  { name: "unitPriceCents a string", body: line('"abc"'), code: "InvalidEvent", message: /LineAdded data\.unitPriceCents: .*number/ },
  { name: "1e400 (Infinity once parsed)", body: line("1e400"), code: "InvalidNumber", message: /data\.unitPriceCents is not a finite number/ },
  { name: "2^64+1 (rounded once parsed)", body: line("18446744073709551617"), code: "InvalidEvent", message: /data\.unitPriceCents: .*safe integer/ },
  {
    name: "a fractional quantity",
    body: '{"type":"LineAdded","data":{"sku":"A","quantity":1.5,"unitPriceCents":1}}',
    code: "InvalidEvent",
    message: /data\.quantity: .*whole/,
  },
  {
    name: "an unknown field",
    body: '{"type":"OrderPaid","data":{"amountCents":5,"admin":true}}',
    code: "InvalidEvent",
    message: /OrderPaid data\.admin: unknown field/,
  },
  ...["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"].map((type) => ({
    name: `type ${type} (a prototype property)`,
    body: `{"type":"${type}","data":{}}`,
    code: type === "__proto__" ? "InvalidCommand" : "InvalidEvent",
    message: type === "__proto__" ? /"type" is missing or invalid/ : new RegExp(`unknown command type ${type}; expected one of OrderPlaced`),
  })),
  {
    name: "a duplicate key in data",
    body: '{"type":"OrderPaid","data":{"amountCents":5,"amountCents":500}}',
    code: "DuplicateKey",
    message: /repeats the key data\.amountCents/,
  },
  { name: "a duplicate key at the top", body: '{"type":"OrderShipped","type":"OrderErased","data":{}}', code: "DuplicateKey", message: /repeats the key type/ },
  {
    name: "a duplicate key deep inside, spelt with an escape",
    body: '{"type":"OrderPlaced","data":{"customerId":"c","lines":[{"sku":"A","quantity":1,"unitPriceCents":1},{"sku":"B","s\\u006bu":"C","quantity":1,"unitPriceCents":1}]}}',
    code: "DuplicateKey",
    message: /repeats the key data\.lines\[1\]\.sku/,
  },
];
