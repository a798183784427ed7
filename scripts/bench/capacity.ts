/**
 * An estimate of DynamoDB on-demand capacity from the request bodies alone (the handlers do not ask for
 * ReturnConsumedCapacity, and the observer sees requests, not responses). It keeps a shadow of every item's size so
 * deletes and queries can be priced: writes cost ceil(item KB) per item written or deleted, plus one per local
 * secondary index whose sort key the item carries; eventually consistent reads cost 0.5 per 4 KB of what a Query
 * reads (at least 0.5) and 0.5 per 4 KB per BatchGetItem/GetItem key, found or not. Strongly consistent reads cost
 * twice that. It is an estimate: DynamoDB adds index overheads and rounds exactly as it sizes items.
 */

/** Key attributes of a table and the sort keys of its local secondary indexes. */
export interface TableSchema {
  hash: string;
  range?: string;
  lsiKeys: string[];
  /** Local secondary indexes by name: whether they project keys only. */
  lsis?: { name: string; keysOnly: boolean }[];
}

/** An index entry of a keys-only index: the table's keys and the index's, about this many bytes. */
const KEY_ENTRY_BYTES = 100;

type Attribute = Record<string, unknown>;
type Item = Record<string, Attribute>;

interface Shadow {
  size: number;
  lsi: number;
  /** The sort key's value, when it is a string: what `begins_with` on the sort key selects by. */
  range?: string;
}

export class CapacityEstimator {
  readonly #schemas: Map<string, TableSchema>;
  readonly #items = new Map<string, Map<string, Shadow>>();
  readonly #partitions = new Map<string, Map<string, Set<string>>>();
  writeUnits = 0;
  readUnits = 0;

  constructor(schemas: Map<string, TableSchema>) {
    this.#schemas = schemas;
  }

  resetCounters(): void {
    this.writeUnits = 0;
    this.readUnits = 0;
  }

  observe(operation: string, body: string): void {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return;
    }
    const table = String(input.TableName ?? '');
    switch (operation) {
      case 'PutItem':
        this.#put(table, input.Item as Item);
        return;
      case 'DeleteItem':
      case 'UpdateItem':
        this.#touch(table, input.Key as Item, operation === 'DeleteItem');
        return;
      case 'BatchWriteItem':
        for (const [name, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, unknown[]>)) {
          for (const request of requests as { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]) {
            if (request.PutRequest) this.#put(name, request.PutRequest.Item);
            else if (request.DeleteRequest) this.#touch(name, request.DeleteRequest.Key, true);
          }
        }
        return;
      case 'GetItem':
        this.readUnits += this.#pointRead(table, input.Key as Item, input.ConsistentRead === true);
        return;
      case 'BatchGetItem':
        for (const [name, request] of Object.entries((input.RequestItems ?? {}) as Record<string, unknown>)) {
          const { Keys = [], ConsistentRead } = request as { Keys?: Item[]; ConsistentRead?: boolean };
          for (const key of Keys) this.readUnits += this.#pointRead(name, key, ConsistentRead === true);
        }
        return;
      case 'Query':
        this.readUnits += this.#query(table, input);
        return;
    }
  }

  #put(table: string, item: Item | undefined): void {
    const schema = this.#schemas.get(table);
    if (!schema || !item) return;
    const key = keyOf(schema, item);
    const before = this.#items.get(table)?.get(key);
    const sort = schema.range ? item[schema.range]?.S : undefined;
    const range = typeof sort === 'string' ? sort : undefined;
    const shadow = { size: itemSize(item), lsi: schema.lsiKeys.filter((name) => name in item).length, range };
    this.writeUnits += Math.max(1, Math.ceil(Math.max(shadow.size, before?.size ?? 0) / 1024)) + shadow.lsi;
    mapOf(this.#items, table).set(key, shadow);
    setOf(mapOf(this.#partitions, table), partitionOf(schema, item)).add(key);
  }

  /** A delete, or an update of non-key attributes (priced at the item's current size). */
  #touch(table: string, keyAttributes: Item | undefined, remove: boolean): void {
    const schema = this.#schemas.get(table);
    if (!schema || !keyAttributes) return;
    const key = keyOf(schema, keyAttributes);
    const shadow = this.#items.get(table)?.get(key);
    this.writeUnits += Math.max(1, Math.ceil((shadow?.size ?? 0) / 1024)) + (shadow?.lsi ?? 0);
    if (remove && shadow) {
      this.#items.get(table)?.delete(key);
      this.#partitions.get(table)?.get(partitionOf(schema, keyAttributes))?.delete(key);
    }
  }

  #pointRead(table: string, keyAttributes: Item, consistent: boolean): number {
    const schema = this.#schemas.get(table);
    const size = schema ? (this.#items.get(table)?.get(keyOf(schema, keyAttributes))?.size ?? 0) : 0;
    return Math.max(1, Math.ceil(size / 4096)) * (consistent ? 1 : 0.5);
  }

  #query(table: string, input: Record<string, unknown>): number {
    const schema = this.#schemas.get(table);
    if (!schema) return 0;
    const value = partitionValue(schema.hash, input);
    const items = this.#items.get(table);
    let selected = [...(this.#partitions.get(table)?.get(value) ?? [])].map((key) => items?.get(key));
    // What the key condition selects: a `begins_with` on the table's sort key reads only those items.
    const prefix = input.IndexName ? undefined : sortPrefix(schema, input);
    if (prefix !== undefined) selected = selected.filter((shadow) => shadow?.range?.startsWith(prefix));
    const keysOnly = schema.lsis?.find((lsi) => lsi.name === input.IndexName)?.keysOnly === true;
    let bytes = selected.reduce((n, shadow) => n + (keysOnly ? KEY_ENTRY_BYTES : (shadow?.size ?? 0)), 0);
    // A Limit stops the read after that many items: priced at their average size.
    const limit = typeof input.Limit === 'number' ? input.Limit : undefined;
    if (limit !== undefined && selected.length > limit) bytes = (bytes / selected.length) * limit;
    return Math.max(1, Math.ceil(bytes / 4096)) * (input.ConsistentRead === true ? 1 : 0.5);
  }
}

/** DynamoDB's item size: attribute name bytes plus value bytes (numbers ≈ 1 byte per 2 digits + 1). */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: Attribute): number {
  const [type, raw] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(String(raw));
    case 'N':
      return numberSize(String(raw));
    case 'B':
      return Buffer.from(String(raw), 'base64').length;
    case 'SS':
      return (raw as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
    case 'NS':
      return (raw as string[]).reduce((n, s) => n + numberSize(s), 0);
    case 'BS':
      return (raw as string[]).reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
    case 'L':
      return 3 + (raw as Attribute[]).reduce((n, v) => n + 1 + valueSize(v), 0);
    case 'M':
      return 3 + Object.entries(raw as Item).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + valueSize(v), 0);
    default:
      return 1;
  }
}

function numberSize(text: string): number {
  const digits = text.replace(/[^0-9]/g, '').replace(/^0+/, '').length;
  return Math.ceil(digits / 2) + 1;
}

function scalar(value: Attribute | undefined): string {
  return JSON.stringify(value ?? null);
}

function keyOf(schema: TableSchema, item: Item): string {
  return `${scalar(item[schema.hash])}|${schema.range ? scalar(item[schema.range]) : ''}`;
}

function partitionOf(schema: TableSchema, item: Item): string {
  return scalar(item[schema.hash]);
}

/** The value a Query's key condition gives the partition key (`clientId = :c`, or through `#name`). */
function partitionValue(hash: string, input: Record<string, unknown>): string {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attribute>;
  for (const [, name, placeholder] of String(input.KeyConditionExpression ?? '').matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if ((names[name as string] ?? name) === hash) return scalar(values[placeholder as string]);
  }
  return '';
}

/** The prefix of a `begins_with(<sort key>, :v)` in a Query's key condition, if it has one. */
function sortPrefix(schema: TableSchema, input: Record<string, unknown>): string | undefined {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attribute>;
  const match = String(input.KeyConditionExpression ?? '').match(/begins_with\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)/);
  if (!match || (names[match[1] as string] ?? match[1]) !== schema.range) return undefined;
  const prefix = values[match[2] as string]?.S;
  return typeof prefix === 'string' ? prefix : undefined;
}

function mapOf<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map<string, V>();
    map.set(key, inner);
  }
  return inner;
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Set<string>();
    map.set(key, inner);
  }
  return inner;
}
