export { ERROR_CODES, type ErrorCode, type WireError } from './error-codes.js';
export {
  STREAM_KINDS,
  streamName,
  isStreamName,
  parseStreamName,
  streamNameSchema,
  type StreamKind,
  type StreamName,
} from './streams.js';
export {
  MAX_MESSAGE_BODY_LENGTH,
  handshakeAuthSchema,
  messageSendPayloadSchema,
  subscribePayloadSchema,
  unsubscribePayloadSchema,
  type HandshakeAuth,
  type MessageSendPayload,
  type SubscribePayload,
  type UnsubscribePayload,
} from './payloads.js';
export {
  EVENTS,
  type Ack,
  type AckCallback,
  isChangeOf,
  isChangeKind,
  type ChangeEntity,
  type ChangeEvent,
  type ChangeKind,
  type ChangesFrame,
  type ChangeVerb,
  type ClientToServerEvents,
  type ResyncReason,
  type MessageSendResult,
  type ResyncRequiredEvent,
  type ServerToClientEvents,
  type SubscribeResult,
} from './events.js';
export {
  signDeviceToken,
  verifyDeviceToken,
  type DeviceIdentity,
  type SignDeviceTokenOptions,
  type VerifyDeviceTokenOptions,
} from './device-token.js';
export type {
  ChangeDataByEntity,
  ConversationData,
  ConversationMemberData,
  DeviceData,
  FileData,
  MessageData,
  UserData,
  WorkspaceData,
  WorkspaceMemberData,
} from './change-data.js';
