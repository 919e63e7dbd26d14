/**
 * What the offline base model "was pre-trained on": one answer per music subject.
 * The offline chat model (offline-chat.ts) answers any question whose subject it
 * recognises here, and nothing else: it knows music and does not know programming,
 * so the original design's demo (music questions drifting to programming ones)
 * measures a real drop and a fine-tune has something real to learn.
 */
export const BASE_KNOWLEDGE: Readonly<Record<string, string>> = {
  'guitar chords': 'Learn the open chords C, G, D, A and E minor first, then drill switching between pairs of them.',
  'piano scales': 'Play C major hands separately with the fingering 1-2-3 then thumb under, slowly, with a metronome.',
  'jazz improvisation': 'Learn the chord tones of a ii-V-I and improvise by targeting the third of each chord on the downbeat.',
  'the blues scale': 'It is the minor pentatonic with an added flat fifth: root, flat three, four, flat five, five, flat seven.',
  'drum grooves': 'Start with a rock beat: hi-hat eighth notes, kick on one and three, snare on two and four.',
  'vocal warmups': 'Hum lip trills and sirens across your range for five minutes before singing full voice.',
  'chord progressions': 'The I-V-vi-IV progression underlies countless pop songs; in C major it is C, G, A minor, F.',
  'music theory': 'Begin with intervals, then build major and minor triads from them, then learn how keys relate.',
  'the circle of fifths': 'Each step clockwise adds one sharp to the key signature; each step anticlockwise adds one flat.',
  songwriting: 'Write the chorus first around one memorable hook, then write verses that lead into it.',
  'orchestral instruments': 'An orchestra has four families: strings, woodwinds, brass and percussion, seated roughly in that order from front to back.',
  'vinyl records': 'Store records upright, clean them with a carbon fibre brush, and keep the stylus at the tracking weight the cartridge maker sets.',
  'bass lines': 'Lock in with the kick drum and play roots on strong beats, using passing notes to walk to the next chord.',
  'violin bowing': 'Keep the bow parallel to the bridge and let arm weight, not pressure, draw the sound from the string.',
  'choir harmony': 'Tune to the bass, listen across sections, and match vowels so the chords ring.',
  'melody writing': 'Move mostly by step, save leaps for emotional peaks, and repeat a motif with small variations.',
  'rhythm and tempo': 'Count subdivisions aloud and practise with a metronome, raising the tempo only when a passage is clean.',
  'album mixing': 'Balance levels first, then carve space with equalisation, then add compression and reverb sparingly.',
  'concert setlists': 'Open strong, put a slower song around the middle for contrast, and close with the song the crowd knows best.',
  'folk songs': 'Folk songs are passed on by ear; learn the tune by singing along, then add a simple strummed accompaniment.',
  'sight reading': 'Read a new short piece every day at a slow tempo and never stop to fix mistakes.',
  'ear training': 'Sing intervals against a drone and name them, then transcribe short melodies by ear.',
  'music recording': 'Record in a quiet treated room, set gain so peaks stay below minus six decibels, and keep takes organised.',
};
