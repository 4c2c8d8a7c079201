// The JSON contract of kam-board: proto/kam/v1/*.proto through protobuf's JSON mapping
// (lowerCamelCase names, enums by name, 64-bit integers as strings, zero values present,
// timestamps as RFC 3339 strings). Only what the page reads is typed.

export interface Session {
  principal: string;
  roles: string[];
  csrfToken: string;
}

/** GET /api/session: whether the browser has a session, and whose. */
export interface SessionProbe extends Partial<Session> {
  authenticated: boolean;
}

export interface ApiErrorBody {
  error?: { code?: string; status?: number; message?: string; rule?: string; field?: string };
}

export interface ProgrammeSummary {
  programmeId: string;
  name: string;
  admittedKeyAccounts: number;
  minKeyAccounts: number;
  maxKeyAccounts: number;
}

export interface ListProgrammesResponse {
  principal: string;
  roles: string[];
  programmes: ProgrammeSummary[];
}

export interface TrainingPlanItem {
  skill: string;
  dueBy: string;
}

export interface AccountView {
  accountId: string;
  name: string;
  /** nominated, incubating, admitted, rejected or retired. */
  stage: string;
  nominatedBy: string;
  sponsor: string;
  manager: string;
  team: string[];
  criteriaVersion: number;
  weightedScore: number;
  admittedAsException: boolean;
  admittedOn: string;
  lastSponsorVisit: string;
  sponsorVisitOverdue: boolean;
  openTrainingPlan: TrainingPlanItem[];
}

export interface PersonView {
  personId: string;
  name: string;
  functions: string[];
  skills: string[];
  staffTrained: boolean;
  /** The principal the person authenticates as (events name actors by principal). */
  principal: string;
}

export interface CommitmentView {
  commitmentId: string;
  accountId: string;
  ownerPersonId: string;
  dueBy: string;
  status: string;
}

export interface ProgrammeParameters {
  maxAccountsPerSponsor: number;
  sponsorVisitCadenceDays: number;
  sponsorGraceDays: number;
  minTenureDays: number;
  reviewCadenceDays: number;
  benchmarkCadenceDays: number;
  discountRate: number;
  requiredSkills: string[];
}

export interface ProgrammeView {
  programmeId: string;
  name: string;
  minKeyAccounts: number;
  maxKeyAccounts: number;
  parameters?: ProgrammeParameters;
  champion: string;
  criteriaVersion: number;
  admittedKeyAccounts: number;
  accounts: AccountView[];
  people: PersonView[];
  eventsFolded: string;
  commitments: CommitmentView[];
  sponsorCoverage: number;
}

export interface GetProgrammeResponse {
  programme: ProgrammeView;
}

export interface Finding {
  rule: string;
  subject: string;
  detail: string;
}

export interface ScorecardStep {
  step: number;
  title: string;
  rulesHeld: string[];
  flags: Finding[];
}

export interface GetScorecardResponse {
  steps: ScorecardStep[];
  historyIntact: boolean;
}

export interface LogPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface VerifyHistoryResponse {
  intact: boolean;
  eventsChecked: string;
  firstBreak: string;
  firstBreakVersion: string;
  firstBreakPosition?: LogPosition;
}

export interface CriterionScore {
  criterionId: string;
  score: number;
}

export interface RegisterEntry {
  accountId: string;
  /** admitted, incubated, rejected or retired. */
  decision: string;
  occurredAt?: string;
  nominatedBy: string;
  nominationRationale: string;
  decidedBy: string;
  /** champion, steering board or member, as the programme stood when they decided. */
  decidedByRole?: string;
  /** The decider's person id: it stays when their personal data is erased. */
  decidedByPerson?: string;
  criteriaVersion: number;
  weightedScore: number;
  threshold: number;
  scores: CriterionScore[];
  exception: boolean;
  justification: string;
  tenureDays: number;
  withinMinTenure: boolean;
}

export interface GetRegisterResponse {
  entries: RegisterEntry[];
  admissions: number;
  exceptions: number;
  overrideRate: number;
  retirements: number;
  admitThenDemote: number;
  admitThenDemoteRate: number;
}

export interface YearEconomics {
  year: number;
  revenue: string;
  grossMargin: string;
  costToServe: string;
  costToServeByActivity: Record<string, string>;
  contribution: string;
  hasRetentionRate: boolean;
  retentionRate: number;
}

export interface GetEconomicsResponse {
  currency: string;
  years: YearEconomics[];
  formula: string;
  hasClv: boolean;
  clv: number;
  marginM: number;
  retentionR: number;
  discountD: number;
  projection: number[];
  flags: Finding[];
}

export interface EventEnvelope {
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  aggregateVersion: string;
  occurredAt?: string;
  recordedAt?: string;
  actor: string;
  clientRequestId: string;
  correlationId: string;
  schemaVersion: number;
  /** Exactly one key: the event's kind in lowerCamelCase (e.g. accountNominated). */
  event: Record<string, EventFields | undefined>;
  commandEventIndex: number;
  commandEventCount: number;
  /** Set on a late entry (envelope.proto field 19): why the fact reached the platform after
   * the programme's business time had passed its occurredAt, which is then only the claimed
   * time. It takes effect at the business time when it was entered. Empty otherwise. */
  lateReason?: string;
}

/** An event's own fields (events.proto); read through the helpers in events.ts. */
export type EventFields = Record<string, unknown>;

export interface HistoryEntry {
  envelope: EventEnvelope;
  position?: LogPosition;
}

export interface GetHistoryResponse {
  entries: HistoryEntry[];
  nextPageToken: string;
}

export interface GetProjectionStatusResponse {
  topic: string;
  lag: string;
  caughtUp: boolean;
  error: string;
}

export type TimeAxis = 'recorded' | 'effective';

export interface AccountEconomics {
  accountId: string;
  name: string;
  stage: string;
  economics: GetEconomicsResponse;
}

export interface GetPortfolioEconomicsResponse {
  accounts: AccountEconomics[];
}
