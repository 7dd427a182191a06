/** schemas/IdentityAudit.avsc: a decision of identity resolution, for identity.audit. */
export interface IdentityAudit {
  kind: 'merge' | 'conflict' | 'limit' | 'untrusted' | 'erasure' | 'retention' | 'identifier-rejected' | 'split' | 'correction-pending' | 'correction-refused';
  at: number;
  eventId: string;
  profileId: string | null;
  otherProfileId: string | null;
  identifierType: string | null;
  detail: string;
}
