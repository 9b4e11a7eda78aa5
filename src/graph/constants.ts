/** The virtual node every graph starts from. */
export const START = "__start__";
/** The virtual node a run reaches when it is done. */
export const END = "__end__";

/** The type of {@link START}. */
export type Start = typeof START;
/** The type of {@link END}. */
export type End = typeof END;
