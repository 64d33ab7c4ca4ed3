/**
 * Measures values as `JSON.stringify` would write them (UTF-8 bytes, no whitespace), remembering the size of
 * every object it has measured. Converted schemas share their parts (a component used by a thousand tools is
 * one object), so measuring every tool costs each shared part once instead of once per use.
 */
export function createJsonSizer(): (value: unknown) => number {
  const sizes = new WeakMap<object, number>();

  function sizeOf(value: unknown): number {
    if (value === null) return 4;
    switch (typeof value) {
      case 'string':
        return Buffer.byteLength(JSON.stringify(value));
      case 'number':
        return Number.isFinite(value) ? String(value).length : 4;
      case 'boolean':
        return value ? 4 : 5;
      case 'object':
        return objectSize(value);
      default:
        // undefined and functions: left out of objects, null in arrays (see `objectSize`).
        return 4;
    }
  }

  function objectSize(value: object): number {
    const known = sizes.get(value);
    if (known !== undefined) return known;
    let size = 2;
    if (Array.isArray(value)) {
      for (const item of value) size += sizeOf(item) + 1;
      if (value.length > 0) size -= 1;
    } else {
      let fields = 0;
      for (const [key, item] of Object.entries(value)) {
        if (item === undefined || typeof item === 'function') continue;
        size += sizeOf(key) + 1 + sizeOf(item) + 1;
        fields++;
      }
      if (fields > 0) size -= 1;
    }
    sizes.set(value, size);
    return size;
  }

  return sizeOf;
}
