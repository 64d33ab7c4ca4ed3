import { Type, type Static } from '@sinclair/typebox';
import { Slug, type Identified, type Stored } from './common.js';

export interface Workspace extends Stored, Identified {
  readonly id: string;
  readonly name: string;
  /** A stable positive integer; the DataWorks dialect calls it ProjectId. */
  readonly projectId: number;
}

export const WorkspaceFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
};

export const WorkspaceInput = Type.Object(WorkspaceFields, { additionalProperties: false });
export type WorkspaceInput = Static<typeof WorkspaceInput>;

export const WorkspaceCreateInput = Type.Object(
  { id: Type.Optional(Slug), ...WorkspaceFields },
  { additionalProperties: false },
);
export type WorkspaceCreateInput = Static<typeof WorkspaceCreateInput>;
