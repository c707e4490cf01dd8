// Shared components, one import for screens: import { Button, … } from '../../components/index.js'.
export { Button } from './Button.jsx';
export { Field, Select, Checkbox } from './form.jsx';
export { Dialog } from './Dialog.jsx';
export { PageHeader, Card, Empty, Spinner, VisuallyHidden } from './layout.jsx';
export { ChannelIcon, channelName } from './ChannelIcon.jsx';
export { StatusTicks } from './StatusTicks.jsx';
export { Pagination, usePages } from './Pagination.jsx';
export { Toasts } from './Toasts.jsx';
