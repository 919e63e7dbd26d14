/**
 * Redis Cluster addressing, without I/O (the connection itself is in redis.ts).
 *
 * A fleet runs on a Redis Cluster when REDIS_CLUSTER_NODES lists nodes
 * ("host:port,host:port", any subset of the cluster: the client discovers the rest) or
 * REDIS_URL names several ("redis://a:7000,b:7001" or "redis://a:7000,redis://b:7001").
 * BullMQ's scripts touch several keys of a queue at once, which a cluster allows only
 * within one hash slot: the queue prefix is therefore hash-tagged, "{driftwatch}" for the
 * default "driftwatch", so every key of every queue of a fleet lands on one slot (and one
 * master, with its replicas for failover). A prefix that already has a {tag} is kept.
 */

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisClusterSpec {
  nodes: RedisNode[];
  username?: string;
  password?: string;
  tls: boolean;
}

function node(part: string): { node: RedisNode; username?: string; password?: string; tls: boolean } | null {
  const s = part.trim();
  if (!s) return null;
  try {
    const u = new URL(s.includes('://') ? s : `redis://${s}`);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return null;
    if (!u.hostname) return null;
    return {
      node: { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379 },
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      tls: u.protocol === 'rediss:',
    };
  } catch {
    return null;
  }
}

/** Every node of a comma-separated list of redis URLs or host:port; null if any part is not one. */
export function parseRedisNodes(list: string): RedisClusterSpec | null {
  // Empty parts are skipped: "redis://a:7000," is a cluster reached through one seed node.
  const parts = list.split(',').filter((x) => x.trim()).map(node);
  if (parts.length === 0 || parts.some((p) => p === null)) return null;
  const ok = parts as NonNullable<(typeof parts)[number]>[];
  return { nodes: ok.map((p) => p.node), username: ok.find((p) => p.username)?.username, password: ok.find((p) => p.password)?.password, tls: ok.some((p) => p.tls) };
}

/** The cluster to use, or null for a single Redis: REDIS_CLUSTER_NODES, else a REDIS_URL naming several nodes. */
export function clusterSpec(env: { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string }): RedisClusterSpec | null {
  if (env.REDIS_CLUSTER_NODES) return parseRedisNodes(env.REDIS_CLUSTER_NODES);
  if (env.REDIS_URL && env.REDIS_URL.includes(',')) return parseRedisNodes(env.REDIS_URL);
  return null;
}

/**
 * The Redis address a process connects to, as one string: REDIS_URL, or for
 * REDIS_CLUSTER_NODES the nodes as a comma-separated list (always with a comma, which is
 * what marks a cluster: isClusterUrl).
 */
export function redisAddress(env: { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string }): string | undefined {
  const spec = env.REDIS_CLUSTER_NODES ? parseRedisNodes(env.REDIS_CLUSTER_NODES) : null;
  if (!spec) return env.REDIS_URL;
  const scheme = spec.tls ? 'rediss' : 'redis';
  const auth = spec.password ? `${encodeURIComponent(spec.username ?? '')}:${encodeURIComponent(spec.password)}@` : '';
  return spec.nodes.map((n) => `${scheme}://${auth}${n.host}:${n.port}`).join(',') + ',';
}

/** A Redis address naming a cluster (several nodes, comma-separated). */
export function isClusterUrl(url: string): boolean {
  return url.includes(',');
}

/** The queue prefix as a cluster needs it: hash-tagged ("driftwatch" -> "{driftwatch}") unless it has a tag already. */
export function hashTaggedPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}
