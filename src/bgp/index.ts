// Public surface of src/bgp: BIRD configuration rendering (pure), BGP session status parsing
// and `node status` rendering (pure), and the BIRD supervisor and control-socket client (io).

export {
  DEFAULT_AS_NUMBER,
  DEFAULT_BGP_PORT,
  PEER_KINDS,
  type PeerKind,
  type BirdPeer,
  type NodeFacts,
  type PeerInputs,
  type EffectiveBGPConfig,
  computeBirdPeers,
  effectiveBGPConfig,
  nodeFacts,
  parsePeerIP,
  peerProtocolName,
  durationSeconds,
} from './bgp-peers.ts';
export {
  type NodeBlock,
  type BirdRenderInput,
  type RenderedBirdConfig,
  renderBirdConfig,
  birdSymbol,
} from './bird-config-renderer.ts';
export { BirdInputs, ownBlocks, type BirdInputUpdate } from './bird-inputs.ts';
export {
  PEER_TYPES,
  type PeerType,
  type BirdProtocol,
  type BGPPeerStatus,
  type NodeStatusInput,
  parseBirdProtocols,
  bgpPeersFromProtocols,
  renderPeerTable,
  renderNodeStatus,
} from './bird-status.ts';
export { type BirdReply, birdCommand, showBGPPeers, checkBirdConfig } from './io/bird-control.ts';
export {
  type BirdSupervisorOptions,
  type BirdNetns,
  type BirdEvent,
  BirdSupervisor,
} from './io/bird-supervisor.ts';
