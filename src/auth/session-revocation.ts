import type { SessionService } from './session-service.ts';
import type { IdentityStore, UserPatch } from './types.ts';

/**
 * The IdentityStore the users API works on, ending a user's viewer sessions when their password is
 * set or they are deleted (a changed role needs nothing: sessions read the role on every request).
 */
export function withSessionRevocation(store: IdentityStore, sessions: Pick<SessionService, 'endUserSessions'>): IdentityStore {
  return {
    listUsers: () => store.listUsers(),
    getUser: (name) => store.getUser(name),
    createUser: (input) => store.createUser(input),
    async updateUser(name: string, patch: UserPatch) {
      const user = await store.updateUser(name, patch);
      if (patch.password !== undefined) await sessions.endUserSessions(user.name);
      return user;
    },
    async deleteUser(name: string) {
      const deleted = await store.deleteUser(name);
      if (deleted) await sessions.endUserSessions(name);
      return deleted;
    },
    verifyPassword: (name, password) => store.verifyPassword(name, password),
    createAccessKey: (user, explicit) => store.createAccessKey(user, explicit),
    listAccessKeys: (user) => store.listAccessKeys(user),
    revokeAccessKey: (id) => store.revokeAccessKey(id),
    lookupAccessKey: (id) => store.lookupAccessKey(id),
  };
}
