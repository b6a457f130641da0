// Public surface of src/selector: the Calico selector language (API contract §5).

export {
  type SelectorNode,
  type SelectorNodeKind,
  type SelectorVisitor,
  type AllNode,
  type GlobalNode,
  type HasNode,
  type ComparisonNode,
  type SetNode,
  type NotNode,
  type AndNode,
  type OrNode,
  type ComparisonOp,
  type SetOp,
  COMPARISON_OPS,
  SET_OPS,
  visitSelector,
  compareUTF8,
  allNode,
  globalNode,
  hasNode,
  comparisonNode,
  setNode,
  notNode,
  andNode,
  orNode,
  mapLabels,
} from './ast.ts';
export { type LabelLookup, type LabelPredicate, labelsOf } from './evaluator.ts';
export { MAX_LABEL_LENGTH } from './lexer.ts';
export {
  type Selector,
  type SelectorErrorDetail,
  type ParseSelectorOptions,
  parseSelector,
  tryParseSelector,
  selectorFromAST,
  normaliseSelector,
  withLabelPrefix,
} from './selector.ts';
export { type RequiredLabels, requiredLabels, requiredEqualities, labelKeys } from './analysis.ts';
