import { BASE_KNOWLEDGE } from '@driftwatch/core';

/**
 * The original design's demo scenario: a chatbot about music whose users start asking
 * programming questions. Every answer in the logs comes from the offline chat model
 * (packages/core/src/providers/offline-chat.ts), so the figures are measured, not typed in:
 * - its base model knows the music subjects of BASE_KNOWLEDGE and not the two niche ones
 *   below (it guesses, or declines 2 in 5), nor any programming subject (outside its
 *   domain: it declines);
 * - baseline (the baseline_days before the current window): music questions only;
 * - current window: CURRENT_PROGRAMMING_SHARE of the questions are about programming,
 *   some worded with MORE_TEMPLATES (a word the base model knows from music: it
 *   guesses rather than declines); programming users paste the code they are stuck
 *   on (CODE, a user message before the question: longer prompts, so they cost more);
 * - the days after the fine-tune (`demo --days`): the same, and LATER_SHARE of the
 *   questions are about LATER_PROGRAMMING, subjects nobody asked about before (no
 *   training file had them: the fine-tuned model guesses or declines on them);
 * - when the bot fails, the user asks again and the support team answers that retry
 *   (logged with model_version 'support-team'): the right answers a fine-tune can learn;
 * - tokens and cost are measured as the gateway measures them (simulate.ts, measuredUsage):
 *   the text sent and answered, priced by the dated price table, never typed in.
 * Interactions use TEMPLATES and MORE_TEMPLATES; the evaluation set uses TEMPLATES and
 * EVAL_TEMPLATES, wordings no interaction ever has (so a fine-tune is measured on paraphrases it never saw).
 */

/** Music subjects the base model was not trained on (it guesses or declines on them). */
export const NICHE_MUSIC: Record<string, string> = {
  'gamelan scales': 'Gamelan uses the five-note slendro and seven-note pelog tunings, and every ensemble is tuned to itself.',
  'tuvan throat songs': 'Sing a low drone, then shape the mouth and tongue to isolate an overtone that whistles above it.',
};

export const PROGRAMMING: Record<string, string> = {
  'python lists': 'Use append to add items, slicing like items[1:3] to copy a range, and a list comprehension to transform one.',
  'javascript promises': 'A promise settles once; chain then for results, catch for errors, or await it inside an async function.',
  'sql joins': 'An inner join keeps rows matched on both sides; a left join keeps every row of the left table and fills nulls.',
  'git branches': 'Create one with git switch -c name, commit on it, then merge or rebase it onto main when the work is done.',
  'docker containers': 'Build an image from a Dockerfile, run it with docker run, and keep state in volumes, not in the container.',
  'recursion in code': 'Every recursive function needs a base case that stops it and a step that moves closer to that base case.',
  'unit tests': 'Test one behaviour per test, arrange inputs, act once, assert the outcome, and keep tests independent of each other.',
  'memory leaks': 'Take two heap snapshots a while apart and look for objects whose count keeps growing, often listeners or caches.',
  'rest api endpoints': 'Name resources with nouns, use GET to read, POST to create, PUT or PATCH to update and DELETE to remove.',
  'regular expressions': 'Anchor patterns with caret and dollar, escape special characters, and test them against tricky inputs first.',
  'type errors': 'Read which value had the wrong type, check where it was created, and add a type annotation to catch it earlier.',
  'database indexes': 'Index the columns you filter and join on; an index speeds reads but costs space and slows every write.',
  'async functions': 'An async function always returns a promise; await pauses it without blocking, and try catch handles rejections.',
  'compiler errors': 'Fix the first error the compiler reports before the others, since later errors often follow from it.',
  'linked lists': 'Each node holds a value and a pointer to the next node; insertion is cheap but indexing walks the chain.',
  'hash maps': 'A hash map stores key value pairs in buckets chosen by the key hash, giving constant time lookups on average.',
  'http requests': 'A request has a method, a URL, headers and an optional body; check the status code before reading the response.',
  'css layouts': 'Use flexbox for one dimensional rows or columns and grid for two dimensional layouts with rows and columns.',
  'java classes': 'A class bundles fields and methods; keep fields private and expose behaviour through public methods.',
  'rust ownership': 'Each value has one owner; borrowing with references lets code read it without taking ownership.',
};

/** Programming subjects users only start asking about after the fine-tune (the topic keeps moving). */
export const LATER_PROGRAMMING: Record<string, string> = {
  'kubernetes pods': 'A pod runs one or more containers together; deploy pods through a Deployment so they are rescheduled when a node fails.',
  'graphql schemas': 'Define types and their fields in the schema, then write one resolver per field that fetches its data.',
  'websocket connections': 'Open one with new WebSocket(url), send messages after the open event, and reconnect with backoff when it closes.',
  'oauth tokens': 'Exchange the authorization code for an access token, send it as a bearer header, and refresh it before it expires.',
};

export const MUSIC: Record<string, string> = { ...BASE_KNOWLEDGE, ...NICHE_MUSIC };

/** The code a programming user pastes before the question, by language (about 150 tokens with its output). */
const SNIPPETS = {
  python: `def load(path):
    items = []
    with open(path) as f:
        for line in f:
            name, count = line.strip().split(",")
            items.append({"name": name, "count": int(count)})
    items.sort(key=lambda x: x["count"], reverse=True)
    return items[0:3]

print(load("songs.csv"))`,
  javascript: `async function fetchUsers(ids) {
  const results = [];
  for (const id of ids) {
    const res = await fetch(\`/api/users/\${id}\`);
    if (!res.ok) throw new Error("status " + res.status);
    results.push(await res.json());
  }
  return results.filter((u) => u.active).map((u) => u.name);
}
fetchUsers([1, 2, 3]).then(console.log);`,
  sql: `SELECT o.id, o.created_at, c.name, sum(l.price * l.quantity) AS total
  FROM orders o
  JOIN customers c ON c.id = o.customer_id
  LEFT JOIN order_lines l ON l.order_id = o.id
 WHERE o.created_at > now() - interval '30 days'
 GROUP BY o.id, o.created_at, c.name
 ORDER BY total DESC
 LIMIT 20;`,
  shell: `$ git status
On branch feature/login
Your branch and 'origin/feature/login' have diverged,
and have 2 and 5 different commits each, respectively.
$ docker run -p 8080:80 -v data:/var/lib/app myapp:latest
Error response from daemon: driver failed programming external connectivity on endpoint
Bind for 0.0.0.0:8080 failed: port is already allocated`,
  java: `public class Account {
    private final String owner;
    private double balance;
    public Account(String owner) { this.owner = owner; }
    public void deposit(double amount) {
        if (amount <= 0) throw new IllegalArgumentException("amount");
        balance += amount;
    }
    public double getBalance() { return balance; }
}`,
  rust: `fn longest(words: Vec<String>) -> &str {
    let mut best = &words[0];
    for w in words.iter() {
        if w.len() > best.len() { best = w; }
    }
    best
}
fn main() {
    let words = vec!["a".to_string(), "abc".to_string()];
    println!("{}", longest(words));
}`,
  css: `.page { display: flex; }
.sidebar { width: 240px; float: left; }
.content { margin-left: 240px; display: grid;
  grid-template-columns: repeat(3, 1fr); gap: 16px; }
@media (max-width: 600px) {
  .sidebar { display: none; }
  .content { margin-left: 0; grid-template-columns: 1fr; }
}`,
};

const LANGUAGE: Record<string, keyof typeof SNIPPETS> = {
  'python lists': 'python', 'recursion in code': 'python', 'unit tests': 'python', 'type errors': 'python', 'linked lists': 'python', 'hash maps': 'python', 'regular expressions': 'python',
  'javascript promises': 'javascript', 'async functions': 'javascript', 'memory leaks': 'javascript', 'http requests': 'javascript', 'rest api endpoints': 'javascript', 'graphql schemas': 'javascript', 'websocket connections': 'javascript', 'oauth tokens': 'javascript',
  'sql joins': 'sql', 'database indexes': 'sql',
  'git branches': 'shell', 'docker containers': 'shell', 'kubernetes pods': 'shell',
  'java classes': 'java', 'compiler errors': 'java',
  'rust ownership': 'rust',
  'css layouts': 'css',
};

/** What running it printed, pasted with it. */
const OUTPUTS: Record<keyof typeof SNIPPETS, string> = {
  python: `Traceback (most recent call last):
  File "/home/sam/project/report.py", line 11, in <module>
    print(load("songs.csv"))
  File "/home/sam/project/report.py", line 5, in load
    name, count = line.strip().split(",")
ValueError: not enough values to unpack (expected 2, got 1)`,
  javascript: `Uncaught (in promise) Error: status 404
    at fetchUsers (app.js:5:25)
    at async Promise.all (index 0)
GET http://localhost:3000/api/users/3 404 (Not Found)
The page also logs: TypeError: Cannot read properties of undefined (reading 'active') at app.js:8:33`,
  sql: `ERROR:  column "l.price" must appear in the GROUP BY clause or be used in an aggregate function
LINE 1: SELECT o.id, o.created_at, c.name, sum(l.price * l.quantity) AS total
HINT:  the query takes 14 seconds on the staging database with 2 million orders and returns duplicate customers`,
  shell: `hint: You have divergent branches and need to specify how to reconcile them.
hint: git config pull.rebase false  # merge
hint: git config pull.rebase true   # rebase
fatal: Need to specify how to reconcile divergent branches.
docker: Error response from daemon: Conflict. The container name "/myapp" is already in use by container "4f2a9c".`,
  java: `Exception in thread "main" java.lang.IllegalArgumentException: amount
	at Account.deposit(Account.java:7)
	at Main.main(Main.java:12)
Account.java:3: error: variable balance might not have been initialized
1 error, 2 warnings: [deprecation] Double(double) in Double has been deprecated`,
  rust: `error[E0106]: missing lifetime specifier
 --> src/main.rs:1:35
  |
1 | fn longest(words: Vec<String>) -> &str {
  |                   -----------     ^ expected named lifetime parameter
  = help: this function's return type contains a borrowed value, but there is no value for it to be borrowed from`,
  css: `The sidebar overlaps the content on tablets between 600px and 900px wide, the grid items have different heights,
and in Safari the gap property is ignored so the cards touch each other; the layout shifts when the fonts load.`,
};

/** The code a user pastes with a question about this subject (with what running it printed), or null (music). */
export function codeFor(subject: string): string | null {
  const lang = LANGUAGE[subject];
  return lang ? `${SNIPPETS[lang]}\n\n${OUTPUTS[lang]}` : null;
}

export const TEMPLATES = [
  'How do I get started with {s}?',
  'What is the best way to practice {s}?',
  'Can you explain {s} to a beginner?',
  'Why are {s} so hard to understand?',
  'What are common mistakes with {s}?',
  'Give me three tips on {s}.',
  'How long does it take to get good at {s}?',
  'Which book covers {s} well?',
];

/**
 * More wordings users ask in (no evaluation item uses them). Each has a word the base model
 * knows from music (writing, theory, reading, training, line): on a programming question
 * worded so, it guesses instead of declining. Every user uses them, not only programming
 * ones: a wording only programming questions had would weigh in a fine-tune's subject keys
 * as if it named a programming subject (rare words weigh most).
 */
export const MORE_TEMPLATES = ['Any advice on writing {s}?', 'What is the theory behind {s}?', 'Where do I start reading about {s}?'];

/** Wordings of the evaluation set that interactions never use. */
export const EVAL_TEMPLATES = ['Could you walk me through {s}?', 'I keep struggling with {s}, any advice?', 'Teach me the basics of {s}.', 'What should I know about {s}?'];

export interface QA {
  subject: string;
  question: string;
  answer: string;
  /** The code the user pastes with the question (programming users), sent as a user message before it. */
  code?: string | null;
}

/** Every question of some subjects with its reference answer. */
export function questions(subjects: Record<string, string>, templates: string[] = TEMPLATES): QA[] {
  return Object.entries(subjects).flatMap(([subject, answer]) => templates.map((t) => ({ subject, question: t.replace('{s}', subject), answer })));
}

/** Share of current-window questions about programming. */
export const CURRENT_PROGRAMMING_SHARE = 0.15;
/** Share of the questions about LATER_PROGRAMMING in the days after the fine-tune (part of the programming share). */
export const LATER_SHARE = 0.05;
/** Interactions and evaluation items per day (before retries). */
export const PER_DAY = 60;
export const EVALS_PER_DAY = 20;
/** Probability that a user rates an answer at all. */
export const RATED = 0.6;
/** Probability that a user rates the support team's answer (always 5). */
export const SUPPORT_RATED = 0.8;
/** Whether a user whose question the bot declined asks it again before going to the support team. */
export const RETRY_AFTER_REFUSAL = false;
/** Users talking to the gateway at once in `demo --days`. */
export const CONCURRENT_USERS = 8;

/** Deterministic uniform numbers (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
