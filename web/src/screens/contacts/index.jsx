// Contacts: the searchable, paginated list (/contacts) and one contact
// (/contacts/:id) with identities, opt-out standing, engagement,
// reachability and the timeline across channels.
import { ContactDetail } from './detail.jsx';
import { ContactList } from './list.jsx';

export default function Contacts({ params, query }) {
  return params && params.id ? <ContactDetail key={params.id} id={params.id} /> : <ContactList query={query} />;
}
