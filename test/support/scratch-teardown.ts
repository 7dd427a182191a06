import { removeRunDir } from './scratch';

export default removeRunDir;
