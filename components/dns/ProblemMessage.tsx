import { problemText, type Problem } from '@/app/_lib/api-types';

/** Where a field error of the RRset body points: `values.2` is the third line of the values box. */
function where(path: string): string {
  const m = /^values\.(\d+)$/.exec(path);
  return m === null ? path : `${path} (line ${Number(m[1]) + 1})`;
}

/** ProblemMessage shows an API problem as the API wrote it: its one line, then each field error it lists. */
export function ProblemMessage({ problem, testId }: { problem: Problem; testId?: string }) {
  const errors = problem.errors ?? [];
  return (
    <div className="error" data-testid={testId}>
      <p style={{ margin: 0 }}>{problemText(problem)}</p>
      {errors.length > 0 && (
        <ul style={{ margin: '0.25rem 0 0', paddingLeft: '1.25rem' }}>
          {errors.map((e, i) => (
            <li key={i}>
              <code>{where(e.path)}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** thrownProblem turns a server action that failed to run at all (node stopping, connection lost) into a problem to show. */
export function thrownProblem(err: unknown): Problem {
  return { code: 'unreachable', title: `the web manager did not answer: ${(err as Error).message}`, status: 0 };
}
