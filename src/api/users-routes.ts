/**
 * Admin API for identities (the auth middleware lets only admins through): users with roles and
 * producer scopes, and their access keys (a secret is shown once, at creation).
 */
import express, { type Request, type Response } from 'express';
import { IdentityError, type IdentityStore, type Role, type UserPatch } from '../auth/types.ts';
import { jsonBodyErrors, wrap } from './respond.ts';

export interface UsersRouteDeps {
  identities: IdentityStore;
}

export function usersRouter(deps: UsersRouteDeps): express.Router {
  const ids = deps.identities;
  const router = express.Router({ caseSensitive: true });
  const json = express.json({ limit: '64kb' });
  const route = (h: (req: Request, res: Response) => Promise<void>) => wrap(async (req, res) => {
    res.set('cache-control', 'no-store');
    try {
      await h(req, res);
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      res.status(err.code === 'not-found' ? 404 : err.code === 'exists' ? 409 : 400).json({ message: err.message });
    }
  });

  router.get('/api/v1/users', route(async (_req, res) => void res.json({ users: await ids.listUsers() })));
  router.post('/api/v1/users', json, route(async (req, res) => {
    const b = bodyOf(req);
    const user = await ids.createUser({
      name: b.name as string,
      role: b.role as Role,
      ...(b.password !== undefined ? { password: b.password as string } : {}),
      ...(b.producerScope !== undefined ? { producerScope: b.producerScope as string[] } : {}),
    });
    res.status(201).json({ user });
  }));
  router.get('/api/v1/users/:name', route(async (req, res) => {
    const user = await ids.getUser(param(req));
    if (!user) throw new IdentityError('not-found', `User ${param(req)} does not exist.`);
    res.json({ user, keys: await ids.listAccessKeys(user.name) });
  }));
  router.patch('/api/v1/users/:name', json, route(async (req, res) => {
    const b = bodyOf(req);
    const patch: UserPatch = {};
    if (b.role !== undefined) patch.role = b.role as Role;
    if (b.password !== undefined) patch.password = b.password as string;
    if (b.producerScope !== undefined) patch.producerScope = b.producerScope as string[] | null;
    if (patch.role !== undefined && patch.role !== 'admin') await keepAnAdmin(ids, param(req));
    res.json({ user: await ids.updateUser(param(req), patch) });
  }));
  router.delete('/api/v1/users/:name', route(async (req, res) => {
    await keepAnAdmin(ids, param(req));
    if (!(await ids.deleteUser(param(req)))) throw new IdentityError('not-found', `User ${param(req)} does not exist.`);
    res.json({ deleted: param(req) });
  }));
  router.get('/api/v1/users/:name/keys', route(async (req, res) => void res.json({ keys: await ids.listAccessKeys(param(req)) })));
  router.post('/api/v1/users/:name/keys', route(async (req, res) => {
    const pair = await ids.createAccessKey(param(req));
    res.status(201).json({ user: param(req), ...pair });
  }));
  router.get('/api/v1/keys', route(async (_req, res) => void res.json({ keys: await ids.listAccessKeys() })));
  router.post('/api/v1/keys', json, route(async (req, res) => {
    const user = bodyOf(req).user;
    if (typeof user !== 'string') throw new IdentityError('invalid', 'Body: {"user": "<name>"}.');
    res.status(201).json({ user, ...(await ids.createAccessKey(user)) });
  }));
  router.delete('/api/v1/keys/:id', route(async (req, res) => {
    if (!(await ids.revokeAccessKey(param(req, 'id')))) throw new IdentityError('not-found', `Access key ${param(req, 'id')} does not exist.`);
    res.json({ revoked: param(req, 'id') });
  }));
  router.use(['/api/v1/users', '/api/v1/keys'], jsonBodyErrors);
  return router;
}

const param = (req: Request, name = 'name'): string => String(req.params[name]);

function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new IdentityError('invalid', 'Request body must be a JSON object.');
  return b as Record<string, unknown>;
}

/** The last admin can be neither deleted nor demoted: nobody could manage identities any more. */
async function keepAnAdmin(ids: IdentityStore, name: string): Promise<void> {
  const admins = (await ids.listUsers()).filter((u) => u.role === 'admin');
  if (admins.length === 1 && admins[0]!.name === name) throw new IdentityError('invalid', `${name} is the last admin.`);
}
