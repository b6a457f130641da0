// Flow logs' OS side: the aggregator service and its SQLite store.
export * from './flow-store.ts';
export * from './aggregator.ts';
export * from './flow-sources.ts';
