/**
 * What tool search reads of a document, made the way plugboard makes its tools: the converter's own names,
 * descriptions and input schemas (`convertOpenApi`), plus each operation's tags from the document.
 */
import type { SearchableTool } from '../../src/domain/tool-search.js';
import { convertOpenApi } from '../../src/openapi/convert-openapi.js';
import { isRecord } from '../../src/openapi/json-pointer.js';
import { parseDocument } from '../../src/openapi/parse-document.js';

export function searchCatalogue(text: string): SearchableTool[] {
  const { tools } = convertOpenApi(text);
  const paths = (parseDocument(text) as { paths?: unknown }).paths;
  return tools.map((tool) => {
    const { method, path } = tool.operation;
    const item = isRecord(paths) ? paths[path] : undefined;
    const operation = isRecord(item) ? item[method] : undefined;
    const tags = isRecord(operation) && Array.isArray(operation.tags) ? operation.tags.map(String) : [];
    const properties = tool.inputSchema.properties;
    return {
      name: tool.name,
      description: tool.description,
      method: method.toUpperCase(),
      path,
      tags,
      parameterNames: isRecord(properties) ? Object.keys(properties) : [],
    };
  });
}
