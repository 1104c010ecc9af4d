// Runs GraphQL operations through a client sites use with Contentful and prints what each
// got: {name: {data, errors}} (or {thrown, errors} where the client throws).
// Usage: node clients.mjs request|apollo|apollo-strict URL TOKEN OPERATIONS.json
// OPERATIONS.json: [{name, document, variables}].
import { readFileSync } from 'node:fs';
import { GraphQLClient, ClientError } from 'graphql-request';
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client/core/index.js';

const [client, url, token, file] = process.argv.slice(2);
const operations = JSON.parse(readFileSync(file, 'utf8'));
const headers = { Authorization: `Bearer ${token}` };

// graphql-request, as Contentful's Next.js templates call it: POST JSON, Bearer token.
async function withGraphqlRequest() {
  const graphql = new GraphQLClient(url, { headers });
  const results = {};
  for (const { name, document, variables } of operations) {
    try {
      results[name] = { data: await graphql.request(document, variables) };
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      results[name] = { data: error.response.data ?? null, errors: error.response.errors };
    }
  }
  return results;
}

// What Apollo's cache needs to match fragments on unions and interfaces: from introspection.
async function possibleTypes() {
  const query = '{ __schema { types { name possibleTypes { name } } } }';
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const found = {};
  for (const type of (await response.json()).data.__schema.types) {
    if (type.possibleTypes) found[type.name] = type.possibleTypes.map((member) => member.name);
  }
  return found;
}

// Apollo Client with its normalizing cache; errorPolicy 'none' (its default) or 'all'.
async function withApollo(errorPolicy) {
  const apollo = new ApolloClient({
    link: new HttpLink({ uri: url, headers, includeExtensions: true }),
    cache: new InMemoryCache({ possibleTypes: await possibleTypes() }),
  });
  const results = {};
  for (const { name, document, variables } of operations) {
    try {
      const result = await apollo.query({
        query: gql(document),
        variables,
        fetchPolicy: 'network-only',
        errorPolicy,
      });
      results[name] = { data: result.data ?? null, errors: result.errors };
    } catch (error) {
      results[name] = { thrown: error.message, errors: error.graphQLErrors };
    }
  }
  return results;
}

const run = { request: withGraphqlRequest, apollo: () => withApollo('all'), 'apollo-strict': () => withApollo('none') }[client];
console.log(JSON.stringify(await run()));
