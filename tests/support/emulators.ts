/** The emulators the tests start: the same ones the local cloud runs. */
export { Emulator, freePort, startDynalite, startKinesisLocal } from "../../local/emulators/emulators";
