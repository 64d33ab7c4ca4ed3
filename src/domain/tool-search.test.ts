import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalise, searchTerms, splitWords } from './search-terms.js';
import { buildToolSearchIndex, type SearchableTool } from './tool-search.js';

const catalogue: SearchableTool[] = [
  {
    name: 'chat_postMessage',
    description: 'Sends a message to a channel.',
    method: 'POST',
    path: '/chat.postMessage',
    tags: ['chat'],
    parameterNames: ['channel', 'text'],
  },
  {
    name: 'conversations_list',
    description: 'Lists all channels in a Slack team.',
    method: 'GET',
    path: '/conversations.list',
    tags: ['conversations'],
    parameterNames: ['limit', 'cursor'],
  },
  {
    name: 'listUsers',
    description: 'Returns the users of the organization.',
    method: 'GET',
    path: '/orgs/{org}/users',
    parameterNames: ['per_page'],
  },
  { name: 'getUser', description: 'Returns one user.', method: 'GET', path: '/orgs/{org}/users/{user_id}' },
  {
    name: 'deleteMember',
    description: 'Takes a person out of the team.',
    method: 'DELETE',
    path: '/teams/{team}/members/{member}',
  },
  {
    name: 'issues_create',
    description: 'Any user with pull access to a repository can create an issue.',
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues',
    tags: ['issues'],
    parameterNames: ['title', 'body', 'labels'],
  },
  { name: 'openShifts_list', description: 'Lists open shifts of a schedule.', method: 'GET', path: '/openShifts' },
  {
    name: 'readAppsV1NamespacedDeploymentScale',
    description: 'read scale of the specified Deployment',
    method: 'GET',
    path: '/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale',
    tags: ['apps_v1'],
  },
  {
    name: 'replaceAppsV1NamespacedDeploymentScale',
    description: 'replace scale of the specified Deployment',
    method: 'PUT',
    path: '/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale',
    tags: ['apps_v1'],
  },
];

const index = buildToolSearchIndex(catalogue);
const first = (query: string) => index.search(query, 3)[0]?.name;

describe('search terms', () => {
  it('splits names the way identifiers are written', () => {
    assert.deepEqual(splitWords('replaceAppsV1NamespacedDeploymentScale'), [
      'replace',
      'apps',
      'v1',
      'namespaced',
      'deployment',
      'scale',
    ]);
    assert.deepEqual(splitWords('getHTTPResponse_code-value'), ['get', 'http', 'response', 'code', 'value']);
    assert.deepEqual(splitWords('/users/{user-id}/calendar/events'), ['users', 'user', 'id', 'calendar', 'events']);
    assert.deepEqual(splitWords('chat.postMessage'), ['chat', 'post', 'message']);
  });

  it('gives the singular and plural, and the forms of a verb, one term', () => {
    for (const [a, b] of [
      ['events', 'event'],
      ['policies', 'policy'],
      ['branches', 'branch'],
      ['addresses', 'address'],
      ['created', 'create'],
      ['creating', 'creates'],
      ['listing', 'list'],
      ['stopped', 'stop'],
      ['messages', 'message'],
      ['settings', 'setting'],
    ] as const) {
      assert.equal(normalise(a), normalise(b), `${a} and ${b}`);
    }
    assert.equal(normalise('string'), 'string');
    assert.equal(normalise('status'), 'status');
    assert.equal(normalise('v1beta1'), 'v1beta1');
  });

  it('drops stopwords and spells out common abbreviations', () => {
    assert.deepEqual(searchTerms('list the repos of my org'), ['list', 'repository', 'me', 'organization']);
  });
});

describe('tool search', () => {
  it('finds the operation a request describes', () => {
    assert.equal(first('send a message to a channel'), 'chat_postMessage');
    assert.equal(first('list channels'), 'conversations_list');
    assert.equal(first('scale a deployment'), 'replaceAppsV1NamespacedDeploymentScale');
  });

  it('reads the method as the verb: listing is a GET of a collection, reading one a GET of an item', () => {
    assert.equal(first('list users'), 'listUsers');
    assert.deepEqual(
      index.search('get a user', 2).map((hit) => hit.name),
      ['getUser', 'listUsers'],
    );
  });

  it('reads a request that starts with a verb and its object as an action, which writes', () => {
    assert.equal(first('scale a deployment'), 'replaceAppsV1NamespacedDeploymentScale');
    assert.equal(first('read the scale of a deployment'), 'readAppsV1NamespacedDeploymentScale');
    assert.equal(first('deployment scale'), 'readAppsV1NamespacedDeploymentScale');
  });

  it('finds an operation through a related word', () => {
    assert.equal(first('remove a member'), 'deleteMember');
    assert.equal(first('open an issue in a repository'), 'issues_create');
  });

  it('lets a related word count less than the word the request used, however rare it is', () => {
    // "open" is a rare word here and related to "create"; "create" itself must still win.
    assert.equal(first('create an issue'), 'issues_create');
    const open = index.search('open shifts', 2).map((hit) => hit.name);
    assert.equal(open[0], 'openShifts_list');
  });

  it("ranks the resource a path ends in, and a resource's own path before the deeper paths that reach it", () => {
    const tools = [
      { name: 'a_deep', description: 'List messages.', method: 'GET', path: '/me/mailFolders/{id}/messages' },
      { name: 'b_own', description: 'List messages.', method: 'GET', path: '/me/messages' },
      { name: 'c_other', description: 'List messages.', method: 'GET', path: '/me/messages/{id}/attachments' },
    ];
    assert.deepEqual(
      buildToolSearchIndex(tools)
        .search('list messages', 3)
        .map((hit) => hit.name),
      ['b_own', 'a_deep', 'c_other'],
    );
  });

  it('reads tags and parameter names', () => {
    assert.equal(first('labels'), 'issues_create');
    assert.equal(first('conversations'), 'conversations_list');
  });

  it('puts the tool a query names exactly first', () => {
    assert.equal(first('getUser'), 'getUser');
    assert.equal(first('GETUSER'), 'getUser');
  });

  it('ranks best first with scores that do not increase', () => {
    const hits = index.search('user', 10);
    assert.ok(hits.length >= 2);
    for (let i = 1; i < hits.length; i++) assert.ok((hits[i - 1]?.score ?? 0) >= (hits[i]?.score ?? 0));
  });

  it('breaks ties by name, whatever the order of the tools', () => {
    const twins = ['b_tool', 'c_tool', 'a_tool'].map((name) => ({ name, description: 'Sends a fax.' }));
    for (const order of [twins, [...twins].reverse()]) {
      const hits = buildToolSearchIndex(order).search('send a fax', 3);
      assert.deepEqual(
        hits.map((hit) => hit.name),
        ['a_tool', 'b_tool', 'c_tool'],
      );
      assert.equal(new Set(hits.map((hit) => hit.score)).size, 1);
    }
  });

  it('keeps to the limit and answers nothing to a query without a searchable word', () => {
    assert.equal(index.size, catalogue.length);
    assert.equal(index.search('user', 1).length, 1);
    assert.equal(index.search('user', 0).length, 0);
    assert.equal(index.search('user', Number.NaN).length, 0);
    assert.ok(index.search('user', Number.POSITIVE_INFINITY).length <= catalogue.length);
    assert.deepEqual(index.search('the of a', 5), []);
    assert.deepEqual(index.search('', 5), []);
    assert.deepEqual(index.search('zebra', 5), []);
    assert.deepEqual(buildToolSearchIndex([]).search('user', 5), []);
  });

  it('gives the same answer to the same query every time', () => {
    const again = buildToolSearchIndex(catalogue);
    for (const query of ['user', 'list', 'send message', 'delete']) {
      assert.deepEqual(again.search(query, 8), index.search(query, 8));
      assert.deepEqual(index.search(query, 8), index.search(query, 8));
    }
  });
});
