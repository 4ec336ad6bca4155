import { Background, Handle, type Node, type NodeProps, Position, ReactFlow } from '@xyflow/react';
import { Link } from 'wouter';
import type { ShownExplainRow as ExplainRow } from './api.js';
import { StatusBadge } from './components.js';

/**
 * The chain as a graph (React Flow): one node per link, principal -> human -> mapping -> k8s identity
 * -> decision -> request, each with its status. Nodes are DOM elements (focusable, readable by screen
 * readers); the same chain is also a table beside it (request view).
 */

export const LINK_LABELS: Record<string, string> = {
  principal: 'IAM principal',
  human: 'Human',
  mapping: 'Identity mapping',
  k8sIdentity: 'Kubernetes identity',
  decision: 'Decision',
  request: 'Request',
};

export interface ChainNodeData extends Record<string, unknown> {
  row: ExplainRow;
  pivot?: { href: string; label: string };
  selected: boolean;
}

const firstField = (value: string): string => value.split('  ')[0] ?? '';

/** What a node shows: the identifying field, and for the mapping, decision and request what says most. */
const FIELDS_SHOWN: Record<string, number> = { mapping: 2, decision: 2, request: 3 };
const summary = (row: ExplainRow): string =>
  row.text
    .split('  ')
    .slice(0, FIELDS_SHOWN[row.link] ?? 1)
    .join(' ');

const ChainNode = ({ data, sourcePosition, targetPosition }: NodeProps<Node<ChainNodeData>>) => {
  const { row, pivot } = data;
  const shown = summary(row) || '(unknown)';
  return (
    <div className={`chain-node status-${row.status}${data.selected ? ' selected' : ''}`} data-link={row.link}>
      <Handle type="target" position={targetPosition ?? Position.Left} />
      <div className="chain-node-head">
        <span className="chain-node-title">{LINK_LABELS[row.link] ?? row.link}</span>
        <StatusBadge status={row.status} />
      </div>
      <div className="chain-node-value" title={row.text}>
        {shown}
      </div>
      {pivot && (
        <Link href={pivot.href} className="nodrag nopan chain-node-pivot" aria-label={pivot.label}>
          {pivot.label} →
        </Link>
      )}
      <Handle type="source" position={sourcePosition ?? Position.Right} />
    </div>
  );
};

const nodeTypes = { chain: ChainNode };

const W = 250;
const GAP = 70;
const ROW = 170;

/** Three links a row, the second row right to left, so every edge stays short. */
const position = (i: number): { x: number; y: number } =>
  i < 3 ? { x: i * (W + GAP), y: 0 } : { x: (5 - i) * (W + GAP), y: ROW };

export const ChainGraph = ({
  rows,
  pivots,
  selected,
  onSelect,
}: {
  rows: readonly ExplainRow[];
  pivots: Record<string, { href: string; label: string } | undefined>;
  selected: string | undefined;
  onSelect: (link: string) => void;
}) => {
  const nodes: Node<ChainNodeData>[] = rows.map((row, i) => {
    const pivot = pivots[row.link];
    return {
      id: row.link,
      type: 'chain',
      position: position(i),
      data: { row, selected: row.link === selected, ...(pivot ? { pivot } : {}) },
      ariaLabel: `${LINK_LABELS[row.link] ?? row.link}, ${row.status}: ${firstField(row.text) || 'unknown'}. Press Enter for its evidence.`,
      draggable: false,
      connectable: false,
      // The second row runs right to left: its edges enter on the right and leave on the left.
      ...(i >= 3 ? { sourcePosition: Position.Left, targetPosition: Position.Right } : {}),
    };
  });
  const edges = rows.slice(1).map((row, i) => {
    const from = rows[i] as ExplainRow;
    return {
      id: `${from.link}->${row.link}`,
      source: from.link,
      target: row.link,
      animated: row.status === 'unknown' || from.status === 'unknown',
      className: `edge-${row.status}`,
    };
  });
  return (
    <figure
      className="chain-graph"
      aria-label="Chain graph (the table below holds the same chain)"
      // A focused node is selected with Enter or Space, as a button would be.
      onKeyDown={(e) => {
        const node = (e.target as HTMLElement).closest<HTMLElement>('.react-flow__node');
        if (node?.dataset.id && (e.key === 'Enter' || e.key === ' ')) {
          e.preventDefault();
          onSelect(node.dataset.id);
        }
      }}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.08 }}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        zoomOnScroll={false}
        panOnScroll={false}
        preventScrolling={false}
        onNodeClick={(_, n) => onSelect(n.id)}
        onSelectionChange={({ nodes: sel }) => {
          if (sel[0]) onSelect(sel[0].id);
        }}
        minZoom={0.3}
      >
        <Background gap={24} />
      </ReactFlow>
    </figure>
  );
};
