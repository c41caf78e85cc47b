// The GitHub API side of action.yml, run by actions/github-script (`github` is an authenticated
// Octokit, `context` the event). The bodies come from action/report.py (size-safe, with a
// marker line); this file only finds the comment, issue or artifact to update.
const fs = require('fs');

// Update the one comment of this kind (found by its marker), or create it.
async function upsertComment({ github, context }, { issueNumber, marker, bodyFile }) {
  if (!issueNumber || !fs.existsSync(bodyFile)) return;
  const body = fs.readFileSync(bodyFile, 'utf8');
  const { owner, repo } = context.repo;
  const comments = await github.paginate(github.rest.issues.listComments, {
    owner, repo, issue_number: issueNumber, per_page: 100,
  });
  const mine = comments.find((c) => c.body && c.body.startsWith(marker));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
  }
}

// The pull request merged as this push, and the newest unexpired plan artifact made for its
// last reviewed commit (its head sha). Sets outputs pr-number and run-id (empty when none).
async function findReviewedPlan({ github, context, core }, { artifactPrefix }) {
  const { owner, repo } = context.repo;
  const pulls = await github.rest.repos.listPullRequestsAssociatedWithCommit({
    owner, repo, commit_sha: context.sha,
  });
  const pr = pulls.data.find((p) => p.merged_at && p.merge_commit_sha === context.sha)
    || pulls.data.find((p) => p.merged_at);
  core.setOutput('pr-number', pr ? String(pr.number) : '');
  core.setOutput('run-id', '');
  if (!pr) {
    core.info('No merged pull request for this commit: apply will plan again.');
    return;
  }
  const name = `${artifactPrefix}-pr-${pr.number}`;
  const found = await github.rest.actions.listArtifactsForRepo({ owner, repo, name, per_page: 100 });
  const fresh = found.data.artifacts
    .filter((a) => !a.expired && a.workflow_run && a.workflow_run.head_sha === pr.head.sha)
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (fresh.length === 0) {
    core.info(`No plan artifact '${name}' for ${pr.head.sha}: apply will plan again.`);
    return;
  }
  core.setOutput('artifact', name);
  core.setOutput('run-id', String(fresh[0].workflow_run.id));
}

// Drift check: open or update the one drift issue (exit 2 or a failed check); close it when
// the account matches again (exit 0).
async function upsertDriftIssue({ github, context }, { exitCode, marker, bodyFile, title }) {
  const { owner, repo } = context.repo;
  const body = fs.readFileSync(bodyFile, 'utf8');
  const open = await github.paginate(github.rest.issues.listForRepo, {
    owner, repo, state: 'open', per_page: 100,
  });
  const mine = open.find((i) => !i.pull_request && i.body && i.body.startsWith(marker));
  if (Number(exitCode) === 0) {
    if (mine) {
      await github.rest.issues.createComment({ owner, repo, issue_number: mine.number, body });
      await github.rest.issues.update({ owner, repo, issue_number: mine.number, state: 'closed' });
    }
    return;
  }
  if (mine) {
    await github.rest.issues.update({ owner, repo, issue_number: mine.number, body });
  } else {
    await github.rest.issues.create({ owner, repo, title, body });
  }
}

module.exports = { upsertComment, findReviewedPlan, upsertDriftIssue };
